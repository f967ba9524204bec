"""Celery tasks that report to Liveop with no code in the task.

Declare the task with ``base=LiveopTask`` and start it with ``enqueue()`` (or
plain ``delay()``/``apply_async()``): the session is created before the job
is queued, so the page shows it waiting at once, and the worker reports its
life — running, retried, failed with its traceback (for the key holder),
cancelled, complete with the return value as the result::

    from celery import Celery
    from liveop.celery import LiveopTask, enqueue

    app = Celery("imports", broker="redis://localhost:6379/0")

    @app.task(base=LiveopTask, bind=True)
    def import_rows(self, path):
        rows = read(path)
        for row in self.progress.track(rows, unit="rows"):  # raises Cancelled on a viewer's Cancel
            save(row)
        return {"rows": len(rows)}

    started = enqueue(import_rows, args=("catalogue.csv",), title="Import catalogue")
    started.session_id, started.stream_url, started.viewer_token, started.watch_url

The web process needs ``LIVEOP_URL`` and ``LIVEOP_API_KEY`` (or a
``Reporter``: ``enqueue(reporter=...)`` or the task's ``liveop_reporter``);
the worker needs only ``LIVEOP_URL``, as it reports with the session's
reporter token, carried in the message's headers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from celery import Task, signals
from celery.exceptions import Retry
from celery.result import AsyncResult

from .errors import Cancelled, LiveopError
from .reporter import Reporter
from .session import DEFAULT_TASK, Session

__all__ = ["Enqueued", "LiveopTask", "enqueue"]

logger = logging.getLogger("liveop.celery")

#: The message header that carries the session to the worker: ``{"id", "token", "task"}``.
HEADER = "liveop"

_environment_reporter: Optional[Reporter] = None


@dataclass(frozen=True)
class Enqueued:
    """A job queued with its session: what a page needs to show it, and Celery's handle on it."""

    session_id: str
    #: For ``<live-operation src=...>``.
    stream_url: str
    #: For ``<live-operation token=...>`` (``view+cancel``, 1 h).
    viewer_token: Optional[str]
    #: The server's own page for the session, a link to share.
    watch_url: Optional[str]
    async_result: AsyncResult


def enqueue(
    task: Task,
    args: Sequence[Any] = (),
    kwargs: Optional[Mapping[str, Any]] = None,
    *,
    title: Optional[str] = None,
    tasks: Union[Mapping[str, str], Sequence[Mapping[str, Any]], None] = None,
    subject: Optional[str] = None,
    reporter: Optional[Reporter] = None,
    **apply_async_options: Any,
) -> Enqueued:
    """Creates the session, then queues the task with it (``apply_async``).

    :param title: the session's title; the task's name by default.
    :param tasks: the session's tasks (``{id: name}``); one, ``main``, by default.
    :param subject: whose operation it is (e.g. ``str(request.user.pk)``), for lists of one user's operations.
    :param reporter: the server; by default the task's ``liveop_reporter``, else ``LIVEOP_URL`` and ``LIVEOP_API_KEY``.
    :param apply_async_options: passed to ``apply_async`` (``countdown``, ``queue``, ``headers``, ...).

    If queueing fails (the broker is down), the session ends as ``error`` and the exception is raised.
    """
    reporter = reporter or _reporter_of(task)
    created = reporter.create_session(
        title or getattr(task, "liveop_title", None) or task.name,
        tasks,
        subject=subject,
        viewer_scope="view+cancel",
    )
    headers = dict(apply_async_options.pop("headers", None) or {})
    headers[HEADER] = {"id": created.id, "token": created.reporter_token, "task": created.default_task}
    try:
        async_result = task.apply_async(tuple(args), dict(kwargs or {}), headers=headers, **apply_async_options)
    except BaseException as error:
        with created:
            created.fail(error)
        raise
    return Enqueued(created.id, created.stream_url, created.viewer_token, created.watch_url, async_result)


class LiveopTask(Task):
    """A task base that reports the task's life to its Liveop session.

    In the task (``bind=True``), ``self.progress`` is the session
    (``track()``, ``stage()``, ``log()``, ...). Without code: started when the
    worker runs it, ``complete`` on success (the return value as the result
    when it is JSON and no result was sent), ``error`` with the traceback
    (owner-only) on failure, "Retrying (2 of 3)" on ``self.retry()``,
    ``cancelled`` when revoked or when the task leaves by ``liveop.Cancelled``
    (which ``track()`` raises after a viewer's Cancel). A message redelivered
    after its worker died (``acks_late``) reports the next attempt to the
    same session.
    """

    #: The server; ``None``: ``LIVEOP_URL`` and ``LIVEOP_API_KEY`` from the environment.
    liveop_reporter: Optional[Reporter] = None
    #: The sessions' title; ``None``: the task's name.
    liveop_title: Optional[str] = None

    @property
    def progress(self) -> Session:
        """The running task's session; ``RuntimeError`` outside a run started with a session."""
        session = getattr(self.request, "liveop_session", None)
        if session is None:
            raise RuntimeError(f"{self.name}: no Liveop session (call it with enqueue(), delay() or apply_async())")
        return session

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> AsyncResult:
        """Queues the task with a new session (as ``enqueue()``), or with the one its headers carry (a retry)."""
        if HEADER in (options.get("headers") or {}):
            return super().apply_async(args, kwargs, **options)
        return enqueue(self, args or (), kwargs, **options).async_result

    def retry(self, args: Any = None, kwargs: Any = None, exc: Any = None, throw: bool = True, **options: Any) -> Any:
        # The session's header must travel with the retried message (Celery 5.2 does not copy custom headers).
        carried = _carried(self.request)
        if carried is not None:
            options["headers"] = {**(options.get("headers") or {}), HEADER: carried}
        return super().retry(args, kwargs, exc, throw, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        carried = _carried(self.request)
        if carried is None:  # called as a plain function, or queued around apply_async
            return super().__call__(*args, **kwargs)
        session = _attach(self, carried)
        self.request.liveop_session = session
        try:
            self._began(session)
            value = super().__call__(*args, **kwargs)
        except Retry as retry:
            self._retrying(session, retry)
            raise
        except Cancelled as cancelled:
            if cancelled.session_id not in (None, session.id):
                session.fail(cancelled)
                raise
            session.cancelled()
            return None
        except BaseException as error:
            session.fail(error)
            raise
        else:
            if not session.result_sent and _is_json(value):
                session.result(value)
            _quietly(session.finish, session)
            return value
        finally:
            _quietly(session.close, session)

    def _began(self, session: Session) -> None:
        if (self.request.delivery_info or {}).get("redelivered"):
            # Its worker died mid-task (acks_late): this is the next attempt of the same session.
            task, attempt = _current(session)
            attempt += 1
            session.retry(task, attempt, f"The worker was lost; attempt {attempt}")
        elif not self.request.retries and session.default_task is not None:
            session.start(session.default_task)
        # With several tasks, the task's own reports start them. A retried run: its retry event went
        # when self.retry() was called.

    def _retrying(self, session: Session, retry: Retry) -> None:
        attempt = self.request.retries + 2
        limit = self.max_retries
        of = f" of {limit + 1}" if limit is not None else ""
        reason = f": {retry.exc}" if retry.exc is not None else ""
        task = session.default_task or _current(session)[0]
        session.retry(task, attempt, f"Retrying ({attempt}{of}){reason}")


def _reporter_of(task: Task) -> Reporter:
    global _environment_reporter
    reporter = getattr(task, "liveop_reporter", None)
    if reporter is not None:
        return reporter
    if _environment_reporter is None:
        _environment_reporter = Reporter.from_environment()
    return _environment_reporter


def _carried(request: Any) -> Optional[Dict[str, Any]]:
    """The session header of a worker's request (an attribute in a worker, in ``headers`` when eager)."""
    carried = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    return carried if isinstance(carried, dict) and carried.get("id") else None


def _attach(task: Task, carried: Mapping[str, Any]) -> Session:
    return _reporter_of(task).session(carried["id"], carried.get("token"), task=carried.get("task"))


def _current(session: Session) -> Tuple[str, int]:
    """The task a retry is about (the only one, else the first not ended) and its attempt so far."""
    try:
        tasks = session.snapshot().get("tasks", [])
    except LiveopError as error:
        logger.warning("liveop: reading session %s: %s", session.id, error)
        tasks = []
    open_tasks = [t for t in tasks if t.get("status") in ("pending", "running")] or tasks
    chosen = next((t for t in open_tasks if t.get("id") == session.default_task), open_tasks[0] if open_tasks else None)
    if chosen is None:
        return session.default_task or DEFAULT_TASK, 1
    return chosen["id"], chosen.get("attempt") or 1


def _is_json(value: Any) -> bool:
    if value is None:
        return False
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _quietly(call: Any, session: Session) -> None:
    """Reporting must never change the task's outcome: a refusal is logged (and was told to ``on_error``)."""
    try:
        call()
    except LiveopError as error:
        logger.warning("liveop: session %s: %s", session.id, error)


@signals.task_revoked.connect
def _revoked(sender: Any = None, request: Any = None, **_: Any) -> None:
    """A revoked task (before or while it runs) ends its session as ``cancelled``."""
    carried = _carried(request) if isinstance(sender, LiveopTask) else None
    if carried is not None:
        session = _attach(sender, carried)
        session.cancelled()
        _quietly(session.close, session)
