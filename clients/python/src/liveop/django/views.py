"""The operation page and the list's feed: the signed-in user's own operations only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..errors import LiveopError
from .settings import liveop_settings, reporter
from .shortcuts import subject_of

# What the list's feed passes on to GET /sessions (the subject is the user's, never the page's).
_LIST_PARAMETERS = ("limit", "cursor", "status", "q")


@login_required
@never_cache
@require_GET
def operation(request: HttpRequest, session_id: str) -> HttpResponse:
    """The operation's page (``liveop/operation.html``) with a fresh viewer token; 404 for another user's."""
    try:
        snapshot = reporter().read(session_id)
    except LiveopError as error:
        if error.status in (400, 404):
            raise Http404("no such operation") from None
        raise
    if snapshot.get("subject") != subject_of(request):
        raise Http404("no such operation")
    return render(request, "liveop/operation.html", {"snapshot": snapshot, "session_id": session_id})


@login_required
@never_cache
@require_GET
def sessions(request: HttpRequest) -> JsonResponse:
    """``GET /sessions`` for ``<live-operation-list>``, with this site's key, of the signed-in user's sessions."""
    query = {name: request.GET[name] for name in _LIST_PARAMETERS if name in request.GET}
    try:
        page = reporter().list_sessions(subject=subject_of(request), **query)
    except LiveopError as error:
        status = error.status if error.status and 400 <= error.status < 500 else 502
        return JsonResponse({"error": {"code": error.code, "message": error.message}}, status=status)
    public = liveop_settings().public
    for entry in page["sessions"]:
        if entry.get("streamUrl"):
            entry["streamUrl"] = public(entry["streamUrl"])
    return JsonResponse(page)
