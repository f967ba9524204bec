"""Starting an operation for the signed-in user, and whose an operation is."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect

from .settings import reporter


def subject_of(request: HttpRequest) -> str:
    """Whose operations these are: the signed-in user's primary key, as the sessions' ``subject``."""
    if not request.user.is_authenticated:
        raise PermissionError("liveop.django: operations belong to a signed-in user")
    return str(request.user.pk)


def start_operation(
    request: HttpRequest,
    task: Any,
    args: Sequence[Any] = (),
    kwargs: Optional[Mapping[str, Any]] = None,
    *,
    title: Optional[str] = None,
    **enqueue_options: Any,
) -> HttpResponseRedirect:
    """Queues a ``LiveopTask`` with a session for ``request.user`` and redirects to the operation's page.

    The page is ``liveop.django.urls``' ``liveop:operation``; other options go to ``liveop.celery.enqueue()``.

    Example::

        @login_required
        @require_POST
        def start_import(request):
            return start_operation(request, import_rows, args=(request.POST["path"],), title="Import")
    """
    from ..celery import enqueue  # Celery only for those who start Celery tasks

    started = enqueue(
        task, args, kwargs, title=title, subject=subject_of(request), reporter=reporter(), **enqueue_options
    )
    return redirect("liveop:operation", session_id=started.session_id)
