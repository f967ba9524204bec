"""A session, as the worker that reports to it sees it."""

from __future__ import annotations

import codecs
import math
import time
import traceback
import weakref
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, Mapping, Optional, Set, TypeVar

from ._channel import Channel
from ._http import logger
from ._wire import (
    LEVELS,
    MAX_ERROR,
    MAX_LOG_LINE,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_OUTPUT_CHUNK,
    MAX_UNIT,
    STAGE_STATES,
    TERMINAL,
    clip,
    clip_tail,
    json_copy,
)
from .errors import Cancelled, LiveopError

if TYPE_CHECKING:
    from .reporter import Reporter

Item = TypeVar("Item")

#: The task ``track()`` and ``steps()`` report to when a session has one task and none is named.
DEFAULT_TASK = "main"


class Session:
    """One operation the user is waiting for, reported to from this process.

    Made by ``Reporter.create_session()`` or ``Reporter.session()``. Its
    reporting methods return at once; the events go out on a background
    thread, started by the first of them. Safe to use from several threads.

    Use it as a context manager: a clean exit completes every task still
    running, an exception ends the session as ``error`` (its message for
    viewers, its traceback for the key holder), and ``liveop.Cancelled``
    ends it as ``cancelled`` (and is not raised further). Or call
    ``close()`` when done.
    """

    def __init__(
        self,
        reporter: Reporter,
        id: str,
        reporter_token: Optional[str],
        *,
        viewer_token: Optional[str] = None,
        stream_url: Optional[str] = None,
        snapshot_url: Optional[str] = None,
        watch_url: Optional[str] = None,
        default_task: Optional[str] = DEFAULT_TASK,
    ) -> None:
        #: The session id.
        self.id = id
        #: The token a worker reports with (24 h by default); ``None`` when attached with the API key.
        self.reporter_token = reporter_token
        #: The token for ``<live-operation token=...>`` (1 h by default); only known to the creator.
        self.viewer_token = viewer_token
        #: The NDJSON stream, for ``<live-operation src=...>``.
        self.stream_url = stream_url or reporter._http.url("sessions", id, "stream")
        #: ``GET`` it for the snapshot.
        self.snapshot_url = snapshot_url or reporter._http.url("sessions", id)
        #: The server's page for the session, with the viewer token: a link to share (only known to the creator).
        self.watch_url = watch_url
        #: The task ``track()``, ``complete()`` and integrations mean when none is named (``None``: several).
        self.default_task = default_task
        #: True once ``result()`` was called.
        self.result_sent = False
        self._reporter = reporter
        self._credential = reporter_token or reporter.api_key
                # Tasks this reporter ended: a second complete for one would be refused.
        self._ended_tasks: Set[str] = set()
        self._channel = Channel(reporter, id, self._credential)
        # A session dropped without close() still sends what it holds, then its thread stops.
        weakref.finalize(self, self._channel.release)

    def __repr__(self) -> str:
        return f"<liveop.Session {self.id}>"

    def _task(self, task: Optional[str]) -> str:
        if task is not None:
            return task
        if self.default_task is None:
            raise TypeError(f"session {self.id} has several tasks: name the one meant (task=...)")
        return self.default_task

    # ------------------------------------------------------------ events ---

    def start(self, task: str) -> None:
        """The task is running (any report starts a pending task too)."""
        self._channel.push({"type": "start", "task": task})

    def steps(self, task: str, done: int, total: int, unit: Optional[str] = None) -> None:
        """``done`` of ``total`` steps are done (shown as ``done / total unit`` and as a percent; ``done`` is clamped)."""
        done, total = int(done), int(total)
        if total < 1:
            raise ValueError(f"total must be at least 1, got {total}")
        event: Dict[str, Any] = {"type": "steps", "task": task, "done": min(max(done, 0), total), "total": total}
        if unit is not None:
            event["unit"] = clip(unit, MAX_UNIT)
        self._channel.push(event)

    def track(
        self,
        iterable: Iterable[Item],
        total: Optional[int] = None,
        unit: Optional[str] = None,
        label: Optional[str] = None,
        *,
        task: Optional[str] = None,
    ) -> Iterator[Item]:
        """Yields the items, counting them as the task's steps; raises ``Cancelled`` when a viewer cancels.

        ``total`` defaults to ``len(iterable)`` when it has one; without a
        total the count is shown as the status message (``"120 rows"``).
        ``label`` is the status message while it runs. ``task`` defaults to
        the session's only task. The cancel is checked before each item, so
        the work stops within an item of the answer that said so.

        Example::

            with reporter.create_session("Import", tasks={"rows": "Rows"}) as s:
                for row in s.track(rows, unit="rows"):
                    save(row)
        """
        task = self._task(task)
        if total is None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        if label is not None:
            self.message(label, task=task)
        self.start(task)
        counted_at = -math.inf
        done = 0
        for item in iterable:
            if self.cancel_requested:
                raise Cancelled(self.id)
            yield item
            done += 1
            if total:
                self.steps(task, done, max(total, done), unit)
            elif time.monotonic() - counted_at >= self._reporter.flush_interval:
                # Messages are never coalesced: without a total, one per flush interval is plenty.
                counted_at = time.monotonic()
                self.message(f"{done} {unit or 'items'}", task=task)
        if self.cancel_requested:
            raise Cancelled(self.id)
        if not total:
            self.message(f"{done} {unit or 'items'}", task=task)

    def percent(self, task: str, value: float) -> None:
        """The task's real progress, 0..100 (clamped); 100 is shown only after ``complete``."""
        value = float(value)
        if math.isnan(value):
            raise ValueError("percent must be a number, got NaN")
        self._channel.push({"type": "percent", "task": task, "value": min(max(value, 0.0), 100.0)})

    def message(
        self,
        text: str,
        task: Optional[str] = None,
        level: Optional[str] = None,
        key: Optional[str] = None,
        params: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """The status line (``level``: ``info``, ``warning`` or ``error``); with ``task``, that task's too.

        ``key`` and ``params``: the message as a translation key, which a page
        renders from its own catalogue (``text`` is the fallback).
        """
        event: Dict[str, Any] = {"type": "message", "text": clip(text, MAX_MESSAGE)}
        if key is not None:
            event["key"] = key
            if params:
                event["params"] = json_copy(dict(params))
        if task is not None:
            event["task"] = task
        if level is not None:
            if level not in LEVELS:
                raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
            event["level"] = level
        self._channel.push(event)

    def log(self, *lines: Any) -> None:
        """Appends log lines (each shortened to 2,000 characters). Never coalesced or dropped."""
        for line in lines:
            self._channel.push({"type": "log", "line": clip(line, MAX_LOG_LINE)})

    def item(self, line: Any, data: Mapping[str, Any]) -> None:
        """Appends a log line with a structured item beside it (a JSON object), for a page's own template."""
        self._channel.push({"type": "log", "line": clip(line, MAX_LOG_LINE), "data": json_copy(dict(data))})

    def output(self, stream: str, text: str) -> None:
        """Appends text to the output stream ``stream`` (an answer token by token): every chunk once, in order."""
        text = str(text)
        for at in range(0, len(text), MAX_OUTPUT_CHUNK // 2):
            self._channel.push({"type": "output", "stream": stream, "text": text[at : at + MAX_OUTPUT_CHUNK // 2]})

    def output_data(self, stream: str, data: Any) -> None:
        """Appends one JSON chunk to the data stream ``stream``."""
        self._channel.push({"type": "output", "stream": stream, "data": json_copy(data)})

    def pipe(self, stream: str, source: Iterable[Any]) -> None:
        """Sends each item of ``source`` to ``stream`` as it comes (str and bytes as text, anything else as
        data chunks), then flushes.

        Example: ``session.pipe("answer", llm.stream(prompt))``
        """
        decoder = codecs.getincrementaldecoder("utf-8")()
        for chunk in source:
            if isinstance(chunk, str):
                self.output(stream, chunk)
            elif isinstance(chunk, (bytes, bytearray)):
                self.output(stream, decoder.decode(bytes(chunk)))
            else:
                self.output_data(stream, chunk)
        self.output(stream, decoder.decode(b"", final=True))
        self.flush()

    def stage(self, name: str, state: Optional[str] = None) -> "Stage":
        """Enters a stage (the active one becomes ``done``); with ``state``, only sets that stage's state.

        As a context manager the stage is ``done`` when the block ends,
        ``cancelled`` when it ends by ``Cancelled``, ``failed`` by another
        exception::

            with s.stage("Read"):
                rows = read()
        """
        name = clip(name, MAX_NAME)
        event: Dict[str, Any] = {"type": "stage", "name": name}
        if state is not None:
            if state not in STAGE_STATES:
                raise ValueError(f"state must be one of {', '.join(STAGE_STATES)}, got {state!r}")
            event["state"] = state
        self._channel.push(event)
        return Stage(self, name)

    def result(self, data: Any = None, artifacts: Optional[Iterable[Mapping[str, Any]]] = None) -> None:
        """The result (any JSON, up to 64 KiB) and artifact links ``{name, url?, text?}``.

        Send it before (or just before) the last ``complete``: an ended session takes no events.
        """
        event: Dict[str, Any] = {"type": "result"}
        if data is not None:
            event["data"] = json_copy(data)  # not JSON (a set, NaN, an object)? Raised here.
        if artifacts is not None:
            event["artifacts"] = json_copy([dict(a) for a in artifacts])
        self.result_sent = True
        self._channel.push(event)

    def complete(self, task: Optional[str] = None, message: Optional[str] = None) -> None:
        """The task (by default the session's only one) is done; the session completes when every task is."""
        task = self._task(task)
        self._ended_tasks.add(task)
        event: Dict[str, Any] = {"type": "complete", "task": task}
        if message is not None:
            event["message"] = clip(message, MAX_MESSAGE)
        self._channel.push(event)

    def error(self, message: str, task: Optional[str] = None, detail: Optional[str] = None) -> None:
        """The task (or, without one, the session) failed; the session ends as ``error``.

        ``detail`` (a traceback, say) is shown to the key holder only
        (``errorDetail`` in ``Reporter.read()``), never to viewers.
        """
        event: Dict[str, Any] = {"type": "error", "message": clip(message, MAX_ERROR)}
        if task is not None:
            event["task"] = task
            self._ended_tasks.add(task)
        if detail is not None:
            event["detail"] = clip_tail(detail, MAX_ERROR)
        self._channel.push(event)

    def fail(self, exc: BaseException, task: Optional[str] = None) -> None:
        """Reports an exception as ``error``: its message for viewers, its traceback as the owner-only detail."""
        message = str(exc) or type(exc).__name__
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.error(message, task, detail=detail)

    def retry(self, task: str, attempt: int, message: Optional[str] = None) -> None:
        """The task is being tried again (shown as ``retry N``)."""
        event: Dict[str, Any] = {"type": "retry", "task": task, "attempt": int(attempt)}
        if message is not None:
            event["message"] = clip(message, MAX_MESSAGE)
        self._channel.push(event)

    def cancelled(self) -> None:
        """The work stopped as asked (see ``cancel_requested``); the session ends as ``cancelled``."""
        self._channel.push({"type": "cancelled"})

    def chain(self, next_id: str, next_reporter_token: Optional[str] = None) -> None:
        """Ends this session and points its viewers at ``next_id`` (a session of the same owner).

        Reporting with a reporter token, pass the next session's reporter
        token too: the server checks that this reporter may report there.
        """
        event: Dict[str, Any] = {"type": "chain", "next": next_id}
        if next_reporter_token is not None:
            event["token"] = next_reporter_token
        self._channel.push(event)

    def finish(self) -> None:
        """Completes every task not ended yet, unless the session has ended: what a clean ``with`` exit does.

        Asks the server for the session's tasks (one ``GET``) after sending
        what is buffered.
        """
        self.flush()
        if self._channel.stopped or self._channel.ended_by_us:
            return
        snapshot = self.snapshot()
        if snapshot.get("status") in TERMINAL:
            return
        for task in snapshot.get("tasks", []):
            if task["id"] not in self._ended_tasks and task.get("status") not in TERMINAL:
                self.complete(task["id"])

    def heartbeat(self, task: Optional[str] = None) -> None:
        """Alive, nothing new (the background thread sends these by itself while idle)."""
        self._channel.push({"type": "heartbeat"} if task is None else {"type": "heartbeat", "task": task})

    # ----------------------------------------------------------- control ---

    @property
    def cancel_requested(self) -> bool:
        """True once an answer to this reporter's events said a viewer asked to cancel.

        Answer it by stopping the work and calling ``cancelled()``.
        """
        return self._channel.cancel_requested

    @property
    def ended(self) -> bool:
        """True once the server said the session has ended (or is gone): later events are dropped."""
        return self._channel.stopped

    def flush(self, timeout: Optional[float] = None) -> None:
        """Blocks until every event so far is sent.

        Raises the first ``LiveopError`` met since the last ``flush()``: a
        refused batch (it was not applied), or one that could not be
        delivered after every retry.
        """
        self._channel.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes and stops the background thread; raises as ``flush()`` does. Later events are ignored."""
        self._channel.close(timeout)

    def snapshot(self) -> Dict[str, Any]:
        """The session as viewers see it now (``GET /sessions/:id``)."""
        snapshot = self._reporter._http.call("GET", self.snapshot_url, self._credential, session_id=self.id)
        if isinstance(snapshot, dict) and snapshot.get("cancelRequested"):
            self._channel.cancel_requested = True
        return snapshot

    def cancel(self) -> None:
        """Asks the work to stop (``POST /sessions/:id/cancel``): its reporter sees ``cancel_requested``.

        E.g. a Django view behind your own Cancel button. Needs the reporter
        token, or the owner's API key.
        """
        url = self._reporter._http.url("sessions", self.id, "cancel")
        self._reporter._http.call("POST", url, self._credential, session_id=self.id)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> bool:
        try:
            if exc is None:
                self.finish()
            elif isinstance(exc, Cancelled) and exc.session_id in (None, self.id):
                self.cancelled()
            elif not isinstance(exc, GeneratorExit):
                self.fail(exc)
            self.close()
        except LiveopError as error:
            if exc is None:
                raise
            # The exception leaving the block matters more; this one was told to on_error.
            logger.debug("liveop: closing session %s after an exception: %s", self.id, error)
        # A cancel answered is the end of the work, not a failure of the code around it.
        return isinstance(exc, Cancelled) and exc.session_id in (None, self.id)


class Stage:
    """A stage entered with ``Session.stage()``: as a context manager, it ends with its block."""

    def __init__(self, session: Session, name: str) -> None:
        self._session = session
        #: The stage's name, as sent.
        self.name = name

    def __enter__(self) -> "Stage":
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        if exc is None:
            state = "done"
        elif isinstance(exc, (Cancelled, GeneratorExit)):
            state = "cancelled"
        else:
            state = "failed"
        self._session.stage(self.name, state)
