"""The app's settings, read from Django's, and the Reporter they describe."""

from __future__ import annotations

import functools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..reporter import Reporter

# How long /widget.json's answer is reused: a new build of the element reaches pages within it.
WIDGET_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class LiveopSettings:
    #: The server, as this site's processes reach it.
    url: str
    #: An API key of the server: it stays on this site's servers.
    api_key: Optional[str]
    #: The server, as browsers reach it.
    public_url: str

    def public(self, url: str) -> str:
        """``url`` (made by the server for ``LIVEOP_URL``) as browsers reach it."""
        if url.startswith(self.url + "/"):
            return self.public_url + url[len(self.url) :]
        return url


def liveop_settings() -> LiveopSettings:
    """``LIVEOP_URL``, ``LIVEOP_API_KEY`` and ``LIVEOP_PUBLIC_URL``; ``ImproperlyConfigured`` without a URL."""
    url = getattr(settings, "LIVEOP_URL", None)
    if not url:
        raise ImproperlyConfigured("liveop.django: set LIVEOP_URL (the Liveop server's base URL) in settings")
    url = url.rstrip("/")
    public_url = (getattr(settings, "LIVEOP_PUBLIC_URL", None) or url).rstrip("/")
    return LiveopSettings(url, getattr(settings, "LIVEOP_API_KEY", None) or None, public_url)


@functools.lru_cache(maxsize=8)
def _reporter(url: str, api_key: Optional[str]) -> Reporter:
    return Reporter(url, api_key)


def reporter() -> Reporter:
    """The Reporter the settings describe (one per URL and key)."""
    configured = liveop_settings()
    return _reporter(configured.url, configured.api_key)


_widgets: Dict[Tuple[str, str], Tuple[float, Dict[str, str]]] = {}
_widgets_lock = threading.Lock()


def widget_script(which: str = "widget") -> Dict[str, str]:
    """The element's immutable script URL (as browsers reach it) and its ``integrity``, from ``/<which>.json``.

    ``which``: ``widget`` (``<live-operation>``) or ``widget-list`` (both elements).
    """
    configured = liveop_settings()
    key = (configured.url, which)
    now = time.monotonic()
    with _widgets_lock:
        cached = _widgets.get(key)
        if cached is not None and now - cached[0] < WIDGET_TTL_SECONDS:
            return cached[1]
    request = urllib.request.Request(f"{configured.url}/{which}.json", headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        described = json.loads(answer.read())
    script = {"src": configured.public(described["url"]), "integrity": described["integrity"]}
    with _widgets_lock:
        _widgets[key] = (now, script)
    return script
