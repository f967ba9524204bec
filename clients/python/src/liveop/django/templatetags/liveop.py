"""The ``liveop`` template library: ``{% live_operation %}`` and ``{% live_operation_list %}``."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from ..settings import liveop_settings, reporter, widget_script

register = template.Library()

# Where a page's render remembers which scripts it already has: the bottom of the render context lives
# for the whole render, includes too.
_SCRIPTS = "liveop.scripts"


def _script(context: template.Context, which: str) -> SafeString:
    """The element's ``<script type="module">`` with its ``integrity``, once per page (the list's brings both)."""
    written = context.render_context.dicts[0].setdefault(_SCRIPTS, set())
    if which in written or "widget-list" in written:
        return mark_safe("")
    written.add(which)
    script = widget_script(which)
    return format_html(
        '<script type="module" src="{}" integrity="{}" crossorigin="anonymous"></script>',
        script["src"],
        script["integrity"],
    )


def _attributes(options: Mapping[str, Any]) -> SafeString:
    """``log_open=True`` as ``log-open``; ``False`` and ``None`` leave the attribute out."""
    shown = [(name.replace("_", "-"), value) for name, value in options.items() if value not in (False, None)]
    return format_html_join(
        "", " {}{}", ((name, "" if value is True else format_html('="{}"', value)) for name, value in shown)
    )


def _session_of(started: Any) -> Dict[str, Any]:
    """The id, stream URL and viewer token of what was started: ``enqueue()``'s answer, a ``Session``, or an id."""
    if isinstance(started, str):
        # Only the id: this page gets a fresh token (the first one expires in an hour).
        token = reporter().viewer_token(started, "view+cancel")
        return {"id": started, "stream_url": reporter().session(started).stream_url, "token": token}
    session_id = getattr(started, "session_id", None) or getattr(started, "id", None)
    if not session_id:
        raise template.TemplateSyntaxError(
            "live_operation: give it what enqueue() or start_operation returned, a Session, or a session id"
        )
    return {"id": session_id, "stream_url": started.stream_url, "token": started.viewer_token}


@register.simple_tag(takes_context=True)
def live_operation(context: template.Context, started: Any, cancelable: bool = True, **options: Any) -> SafeString:
    """``<live-operation>`` for a started operation, with its script (once per page).

    ``{% live_operation started %}``; other attributes as keywords:
    ``{% live_operation started log_open=True lang="de" %}``.
    """
    session = _session_of(started)
    attributes = _attributes({"cancelable": cancelable, **options})
    element = format_html(
        '<live-operation src="{}" token="{}"{}></live-operation>',
        liveop_settings().public(session["stream_url"]),
        session["token"] or "",
        attributes,
    )
    return format_html("{}{}", _script(context, "widget"), element)


@register.simple_tag(takes_context=True)
def live_operation_list(context: template.Context, **options: Any) -> SafeString:
    """``<live-operation-list>`` of the signed-in user's own operations (fed by ``liveop.django.urls``), with its script.

    With no row actions (``actions=""``): the feed lists, it does not cancel, restart or delete.
    """
    element = format_html(
        '<live-operation-list src="{}"{}></live-operation-list>',
        reverse("liveop:sessions"),
        _attributes({"actions": "", **options}),
    )
    return format_html("{}{}", _script(context, "widget-list"), element)
