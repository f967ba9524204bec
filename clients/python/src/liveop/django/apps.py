"""The app's configuration (label ``liveop``)."""

from django.apps import AppConfig


class LiveopConfig(AppConfig):
    name = "liveop.django"
    label = "liveop"
    verbose_name = "Liveop"
