"""A Django site as a user of liveop.django writes one: settings, a start view, the app's URLs and a page."""

import os

import django
from django.conf import settings

TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


def configure(url, api_key, public_url=None, database=":memory:"):
    """Configures Django for this site (once per process) and sets it up."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="liveop-tests-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF="django_site",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "liveop.django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [TEMPLATES_DIR], "APP_DIRS": True}],
        USE_TZ=True,
        LOGIN_URL="/login/",
        LIVEOP_URL=url,
        LIVEOP_API_KEY=api_key,
        LIVEOP_PUBLIC_URL=public_url,
    )
    django.setup()


# The site's own code (after configure(): it imports Django's URL machinery and the task module).
def _urlpatterns():
    from django.contrib.auth.decorators import login_required
    from django.urls import include, path
    from django.views.decorators.http import require_POST

    from liveop.django.shortcuts import start_operation

    import celery_app

    @login_required
    @require_POST
    def start_import(request):
        return start_operation(request, celery_app.import_rows, args=(int(request.POST["rows"]),), title="Import")

    return [
        path("imports/start", start_import, name="start-import"),
        path("operations/", include("liveop.django.urls")),
    ]


def __getattr__(name):
    if name == "urlpatterns":  # read by Django as ROOT_URLCONF, once configured
        return _urlpatterns()
    raise AttributeError(name)
