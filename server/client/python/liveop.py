"""Report the progress of long-running work to a Liveop server.

One file, standard library only (Python 3.9 or newer): copy it next to your
code, or vendor it into your project.

A web request creates the session and hands the page its ``stream_url`` and
``viewer_token``; a worker (a Celery task, a thread, a script) reports to it::

    from liveop import Reporter

    reporter = Reporter("https://liveop.example.com", api_key="...")

    # In the web request (nothing is sent in the background from here):
    session = reporter.create_session("Import catalogue", tasks={"import": "Import rows"})
    import_catalogue.delay(session.id, session.reporter_token)

    # In the worker:
    def import_catalogue(session_id, reporter_token):
        with reporter.session(session_id, reporter_token) as s:
            rows = load_rows()
            s.start("import")
            for i, row in enumerate(rows, 1):
                if s.cancel_requested:
                    s.cancelled()
                    return
                save(row)
                s.steps("import", i, len(rows))
                if i % 100 == 0:
                    s.log(f"row {i}")
            s.result({"imported": len(rows)})
            s.complete("import")

Calls never wait for the network: events are buffered and a background
thread sends them in batches, at most one every ``flush_interval`` seconds (a
``percent``/``steps`` report replaces the last one for its task while only
progress reports came after it; log lines are never dropped). While the work
is quiet, the thread sends a heartbeat every ``heartbeat_interval`` seconds,
so the server does not declare the worker lost. Every batch carries an
``Idempotency-Key``, the same on each of its retries (network errors, 429,
502, 503, 504; exponential backoff with full jitter, never sooner than a
``Retry-After``), so a batch whose answer was lost is applied once. A batch
the server refuses (another 4xx) is raised as ``LiveopError`` from the next
``flush()`` or ``close()``; leaving a ``with`` block by an exception reports it
as the session's ``error`` and re-raises it. See docs/python.md.
"""

from __future__ import annotations

import atexit
import collections
import email.utils
import http.client
import json
import logging
import math
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import weakref
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = ["Reporter", "Session", "LiveopError"]
__version__ = "0.1.0"

logger = logging.getLogger("liveop")

# The server's limits (docs/protocol.md): a batch is at most 10,000 events and
# 1 MiB of body; texts past their limit would make the server refuse the whole
# batch, so they are shortened here instead.
MAX_EVENTS_PER_BATCH = 10_000
MAX_BATCH_BYTES = 1_000_000  # under the 1 MiB body limit, with room to spare
MAX_LOG_LINE = 2_000
MAX_MESSAGE = 2_000
MAX_ERROR = 10_000
MAX_NAME = 500

_RETRIED_STATUSES = (429, 502, 503, 504)
_TERMINAL = ("complete", "error", "cancelled")
_LEVELS = ("info", "warning", "error")
_STAGE_STATES = ("pending", "active", "done", "failed", "cancelled")
_REPORTS = ("percent", "steps")


class LiveopError(Exception):
    """A request the server refused, or one that could not be delivered.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the
    error code of the server's answer (``invalid_body``, ``not_found``,
    ``conflict``, ... or ``network_error``), ``message`` the server's message.
    """

    def __init__(
        self,
        status: Optional[int],
        code: str,
        message: str,
        *,
        retry_after: Optional[float] = None,
        session_id: Optional[str] = None,
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        #: Seconds the server asked to wait (429 and 503), if it said.
        self.retry_after = retry_after
        #: The session the request was about, if any.
        self.session_id = session_id

    def __str__(self) -> str:
        where = f" (session {self.session_id})" if self.session_id else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.code}: {self.message}{where}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _clip(text: Any, limit: int) -> str:
    """Shortened to ``limit`` as the server counts (UTF-16 code units), ending in an ellipsis when cut."""
    text = str(text)
    if len(text) * 2 <= limit or len(text.encode("utf-16-le", "surrogatepass")) // 2 <= limit:
        return text
    units = 0
    for i, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit - 1:  # room for the ellipsis
            return text[:i] + "\u2026"
    return text


def _dumps(value: Any) -> str:
    # ASCII with escapes: its length is its size in bytes, and a lone surrogate cannot fail to encode.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _json_copy(value: Any) -> Any:
    """The value as it will be sent, now: raises here when it is not JSON, and later changes to it are not sent."""
    return json.loads(_dumps(value))


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), at most five minutes."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), 300.0)


class _Http:
    """Requests with retries: the part of the reporter that talks to the server."""

    def __init__(self, base_url: str, timeout: float, retry_attempts: int, backoff: float, max_backoff: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_attempts = retry_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff

    def url(self, *parts: str) -> str:
        return self.base_url + "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def call(
        self,
        method: str,
        url: str,
        credential: Optional[str],
        body: Optional[bytes] = None,
        *,
        idempotency_key: Optional[str] = None,
        retry_network: bool = True,
        session_id: Optional[str] = None,
    ) -> Any:
        """Sends the request, retrying as configured; answers the parsed JSON or raises ``LiveopError``."""
        headers = {"Accept": "application/json", "User-Agent": f"liveop-python/{__version__}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        attempt = 0
        while True:
            last = attempt >= self.retry_attempts
            try:
                return self._once(method, url, headers, body)
            except LiveopError as error:
                error.session_id = session_id
                if error.status is None:
                    if last or not retry_network:
                        raise
                    delay = self._backoff(attempt)
                elif error.status in _RETRIED_STATUSES and not last:
                    if error.status in (502, 504) and not retry_network:
                        raise
                    delay = max(self._backoff(attempt), error.retry_after or 0.0)
                else:
                    raise
            logger.debug("liveop: %s %s failed; retry %d in %.2fs", method, url, attempt + 1, delay)
            time.sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        # Full jitter: anywhere between 0 and the exponential ceiling.
        return random.uniform(0, min(self.max_backoff, self.backoff * (2**attempt)))

    def _once(self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes]) -> Any:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as answer:
            try:
                raw = answer.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            finally:
                answer.close()
            raise self._refusal(answer.code, answer.headers, raw) from None
        except (OSError, http.client.HTTPException) as error:
            # Refused, reset, timed out, or the answer was lost on the way.
            reason = getattr(error, "reason", None) or error
            raise LiveopError(None, "network_error", f"{method} {url}: {reason}") from error
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as error:
            # A cut-off answer: as good as lost (a retry with the same key is safe).
            raise LiveopError(None, "network_error", f"{method} {url}: unreadable answer") from error

    @staticmethod
    def _refusal(status: int, headers: Any, raw: bytes) -> LiveopError:
        code, message = f"http_{status}", raw.decode("utf-8", "replace").strip()[:500] or f"HTTP {status}"
        try:
            error = json.loads(raw)["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            pass
        return LiveopError(status, code, message, retry_after=_retry_after(headers.get("Retry-After")))


class Reporter:
    """A Liveop server, as a reporter sees it.

    :param base_url: the server, e.g. ``"https://liveop.example.com"``.
    :param api_key: an API key (``Authorization: Bearer``); needed to create
        sessions on a server with keys. Keep it server-side: hand browsers the
        viewer token, and workers the session's reporter token.
    :param flush_interval: at most one batch per this many seconds while reporting (the first
        report after a quiet spell goes at once).
    :param heartbeat_interval: seconds of quiet after which a heartbeat is sent; ``0`` sends none.
    :param timeout: seconds one request may take.
    :param retry_attempts: retries of a request after the first try, on network
        errors and 429/502/503/504.
    :param retry_backoff: the first retry's ceiling in seconds; it doubles with
        each retry, up to ``retry_max_delay``.
    :param on_error: called (on the background thread) with each
        ``LiveopError`` a batch or heartbeat met; without it they are logged to
        the ``liveop`` logger. Refused batches are raised from ``flush()`` too.
    """

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str] = None,
        *,
        flush_interval: float = 0.2,
        heartbeat_interval: float = 20.0,
        timeout: float = 10.0,
        retry_attempts: int = 8,
        retry_backoff: float = 0.25,
        retry_max_delay: float = 10.0,
        on_error: Optional[Callable[[LiveopError], None]] = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.on_error = on_error
        self._http = _Http(self.base_url, timeout, retry_attempts, retry_backoff, retry_max_delay)

    def create_session(
        self,
        title: Optional[str] = None,
        tasks: Union[Mapping[str, str], Sequence[Mapping[str, Any]], None] = None,
        stages: Optional[Sequence[str]] = None,
        **options: Any,
    ) -> "Session":
        """Creates a session (``POST /sessions``) and returns it, ready to report to.

        :param tasks: ``{id: name}``, or ``[{"id", "name", "weight"?, "expected_ms"?}]``;
            left out, the session has one task, ``main``.
        :param stages: stage names, shown as a stepper.
        :param options: the wire's other fields in snake case:
            ``ttl_seconds``, ``dead_after_ms``, ``stall_after_ms``,
            ``expected_ms``, ``owner``, ``viewer_scope``.

        A create is retried only when the server said it did nothing (429,
        503) or the connection was refused: a create whose answer was lost
        could otherwise make two sessions.
        """
        body: Dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if tasks is not None:
            if isinstance(tasks, Mapping):
                body["tasks"] = dict(tasks)
            else:
                body["tasks"] = [{_camel(k): v for k, v in task.items() if v is not None} for task in tasks]
        if stages is not None:
            body["stages"] = list(stages)
        for key, value in options.items():
            if value is not None:
                body[_camel(key)] = value
        created = self._create(_dumps(body).encode("utf-8"))
        return Session(
            self,
            created["id"],
            created["reporterToken"],
            viewer_token=created.get("viewerToken"),
            stream_url=created.get("streamUrl"),
            snapshot_url=created.get("snapshotUrl"),
        )

    def session(self, id: str, reporter_token: Optional[str] = None) -> "Session":
        """Attaches to an existing session, e.g. in the worker a web request handed the id and token.

        Without ``reporter_token`` the reporter's API key is used.
        """
        return Session(self, id, reporter_token)

    def viewer_token(self, session_id: str, scope: str = "view+cancel", ttl_seconds: Optional[int] = None) -> str:
        """Mints another viewer token for a session (``POST /sessions/:id/tokens``, with the API key).

        Viewer tokens expire (1 h by default): a page that shows a session
        later, or again, asks for a fresh one. ``scope``: ``view`` or ``view+cancel``.
        """
        body: Dict[str, Any] = {"scope": scope}
        if ttl_seconds is not None:
            body["ttlSeconds"] = int(ttl_seconds)
        url = self._http.url("sessions", session_id, "tokens")
        minted = self._http.call("POST", url, self.api_key, _dumps(body).encode("utf-8"), session_id=session_id)
        return minted["token"]

    def _create(self, body: bytes) -> Dict[str, Any]:
        url = self._http.url("sessions")
        attempt = 0
        while True:
            try:
                return self._http.call("POST", url, self.api_key, body, retry_network=False)
            except LiveopError as error:
                refused = isinstance(error.__cause__, ConnectionRefusedError) or isinstance(
                    getattr(error.__cause__, "reason", None), ConnectionRefusedError
                )
                if not refused or attempt >= self._http.retry_attempts:
                    raise
            time.sleep(self._http._backoff(attempt))
            attempt += 1


class Session:
    """One operation the user is waiting for, reported to from this process.

    Made by ``Reporter.create_session()`` or ``Reporter.session()``. Its
    reporting methods return at once; the events go out on a background
    thread, started by the first of them. Safe to use from several threads.
    Use it as a context manager, or call ``close()`` when done.
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
        self._reporter = reporter
        self._credential = reporter_token or reporter.api_key
        self._channel = _Channel(reporter, id, self._credential)
        # A session dropped without close() still sends what it holds, then its thread stops.
        weakref.finalize(self, self._channel.release)

    def __repr__(self) -> str:
        return f"<liveop.Session {self.id}>"

    # ------------------------------------------------------------ events ---

    def start(self, task: str) -> None:
        """The task is running (any report starts a pending task too)."""
        self._channel.push({"type": "start", "task": task})

    def steps(self, task: str, done: int, total: int) -> None:
        """``done`` of ``total`` steps are done (shown as ``done / total`` and as a percent; ``done`` is clamped)."""
        done, total = int(done), int(total)
        if total < 1:
            raise ValueError(f"total must be at least 1, got {total}")
        self._channel.push({"type": "steps", "task": task, "done": min(max(done, 0), total), "total": total})

    def percent(self, task: str, value: float) -> None:
        """The task's real progress, 0..100 (clamped); 100 is shown only after ``complete``."""
        value = float(value)
        if math.isnan(value):
            raise ValueError("percent must be a number, got NaN")
        self._channel.push({"type": "percent", "task": task, "value": min(max(value, 0.0), 100.0)})

    def message(self, text: str, task: Optional[str] = None, level: Optional[str] = None) -> None:
        """The status line (``level``: ``info``, ``warning`` or ``error``); with ``task``, that task's too."""
        event: Dict[str, Any] = {"type": "message", "text": _clip(text, MAX_MESSAGE)}
        if task is not None:
            event["task"] = task
        if level is not None:
            if level not in _LEVELS:
                raise ValueError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
            event["level"] = level
        self._channel.push(event)

    def log(self, *lines: Any) -> None:
        """Appends log lines (each shortened to 2,000 characters). Never coalesced or dropped."""
        for line in lines:
            self._channel.push({"type": "log", "line": _clip(line, MAX_LOG_LINE)})

    def stage(self, name: str, state: Optional[str] = None) -> None:
        """Enters a stage (the active one becomes ``done``); with ``state``, only sets that stage's state."""
        event: Dict[str, Any] = {"type": "stage", "name": _clip(name, MAX_NAME)}
        if state is not None:
            if state not in _STAGE_STATES:
                raise ValueError(f"state must be one of {', '.join(_STAGE_STATES)}, got {state!r}")
            event["state"] = state
        self._channel.push(event)

    def result(self, data: Any = None, artifacts: Optional[Iterable[Mapping[str, Any]]] = None) -> None:
        """The result (any JSON, up to 64 KiB) and artifact links ``{name, url?, text?}``.

        Send it before (or just before) the last ``complete``: an ended session takes no events.
        """
        event: Dict[str, Any] = {"type": "result"}
        if data is not None:
            event["data"] = _json_copy(data)  # not JSON (a set, NaN, an object)? Raised here.
        if artifacts is not None:
            event["artifacts"] = _json_copy([dict(a) for a in artifacts])
        self._channel.push(event)

    def complete(self, task: str, message: Optional[str] = None) -> None:
        """The task is done; the session completes when every task is."""
        event: Dict[str, Any] = {"type": "complete", "task": task}
        if message is not None:
            event["message"] = _clip(message, MAX_MESSAGE)
        self._channel.push(event)

    def error(self, message: str, task: Optional[str] = None) -> None:
        """The task (or, without one, the session) failed; the session ends as ``error``."""
        event: Dict[str, Any] = {"type": "error", "message": _clip(message, MAX_ERROR)}
        if task is not None:
            event["task"] = task
        self._channel.push(event)

    def retry(self, task: str, attempt: int, message: Optional[str] = None) -> None:
        """The task is being tried again (shown as ``retry N``)."""
        event: Dict[str, Any] = {"type": "retry", "task": task, "attempt": int(attempt)}
        if message is not None:
            event["message"] = _clip(message, MAX_MESSAGE)
        self._channel.push(event)

    def cancelled(self) -> None:
        """The work stopped as asked (see ``cancel_requested``); the session ends as ``cancelled``."""
        self._channel.push({"type": "cancelled"})

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

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        if exc is None:
            self.close()
            return
        if not isinstance(exc, GeneratorExit):
            self.error(str(exc) or exc_type.__name__)
        try:
            self.close()
        except LiveopError as error:
            # The exception leaving the block matters more; this one was told to on_error.
            logger.debug("liveop: closing session %s after an exception: %s", self.id, error)


class _Channel:
    """A session's buffer and the one background thread that sends it, a batch at a time, in order."""

    def __init__(self, reporter: Reporter, session_id: str, credential: Optional[str]) -> None:
        self._http = reporter._http
        self._url = reporter._http.url("sessions", session_id, "events")
        self._session_id = session_id
        self._credential = credential
        self._flush_interval = reporter.flush_interval
        self._heartbeat_interval = reporter.heartbeat_interval
        self._on_error = reporter.on_error
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        # Entries are (seq, event), in seq order; a coalesced report's seq is covered by its replacement's.
        self._buffer: Deque[Any] = collections.deque()
        self._seq = 0  # events pushed
        self._done = 0  # events sent (or dropped): every seq up to it
        self._flush_to = 0
        self._batch_at = -math.inf  # when the last batch went: batches go at most every flush_interval
        self._last_sent = 0.0  # when the last answer came: heartbeats count from it
        self._error: Optional[LiveopError] = None
        self._closing = False
        self.closed = False
        self._ended = False  # an accepted batch ended the session: no more heartbeats
        self.stopped = False  # the server refused the session: drop everything
        self.cancel_requested = False
        self._pid = os.getpid()

    # ------------------------------------------------------ caller side ---

    def push(self, event: Dict[str, Any]) -> None:
        with self._cond:
            if self.closed or self.stopped:
                return
            self._seq += 1
            if event["type"] in _REPORTS:
                # It replaces the last report for its task while only progress reports came after that one.
                for back in range(1, len(self._buffer) + 1):
                    earlier = self._buffer[-back][1]
                    if earlier["type"] not in _REPORTS:
                        break
                    if earlier["task"] == event["task"]:
                        del self._buffer[-back]
                        break
            self._buffer.append((self._seq, event))
            self._ensure_thread()
            self._cond.notify_all()

    def flush(self, timeout: Optional[float] = None) -> None:
        with self._cond:
            if self._thread is threading.current_thread():
                raise RuntimeError("liveop: flush() on the reporter's own thread (in on_error) would wait forever")
            target = self._seq
            self._flush_to = max(self._flush_to, target)
            self._cond.notify_all()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._done < target and self._thread is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"liveop: session {self._session_id} not flushed within {timeout}s")
                self._cond.wait(left)
            error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self, timeout: Optional[float] = None) -> None:
        with self._cond:
            self.closed = True
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        try:
            self.flush(timeout)
        finally:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
            _open_channels.discard(self)

    def release(self) -> None:
        """The Session was dropped: send what is left, then stop (no waiting here)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._last_sent = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"liveop-{self._session_id[:12]}", daemon=True)
        _open_channels.add(self)
        self._thread.start()

    def _after_fork(self) -> None:
        # The parent's thread did not come along, and the parent sends what it held.
        self._reset()

    # ------------------------------------------------------ thread side ---

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    batch, upto, idle = self._next_batch()
                    if batch is None:
                        return
                self._send(batch, upto, idle)
        except BaseException as bug:  # not expected; but a dead thread must not leave flush() waiting
            logger.exception("liveop: the reporter thread of session %s failed", self._session_id)
            with self._cond:
                self._error = self._error or LiveopError(None, "internal_error", repr(bug), session_id=self._session_id)
                self._buffer.clear()
                self._done = self._seq
        finally:
            with self._cond:
                self._thread = None
                _open_channels.discard(self)
                self._cond.notify_all()

    def _next_batch(self) -> Any:
        """Waits (holding the lock) for what to send next: (events, last seq, is idle heartbeat), or Nones to stop."""
        while True:
            now = time.monotonic()
            if self.stopped:
                return None, 0, False
            if self._buffer:
                # The first report after a quiet spell goes at once; then at most one batch per flush_interval.
                if self._closing or self._flush_to > self._done or now >= self._batch_at + self._flush_interval:
                    self._batch_at = now
                    events, upto = self._take()
                    return events, upto, False
                wait = self._batch_at + self._flush_interval - now
            else:
                self._done = self._seq  # what was pushed last was coalesced into what went
                self._cond.notify_all()
                if self._closing or self._ended:
                    return None, 0, False
                if not self._heartbeat_interval:
                    wait = None
                else:
                    due = self._last_sent + self._heartbeat_interval
                    if now >= due:
                        self._batch_at = now
                        return [{"type": "heartbeat"}], self._done, True
                    wait = due - now
            self._cond.wait(wait)

    def _take(self) -> Any:
        """Takes the oldest events that fit in one batch; consecutive log lines become one ``lines`` event."""
        events: List[Dict[str, Any]] = []
        size, upto = 2, self._done
        lines: Optional[List[str]] = None
        while self._buffer:
            seq, event = self._buffer[0]
            if event["type"] == "log":
                cost = len(_dumps(event["line"])) + 1
                if lines is not None and len(lines) < MAX_EVENTS_PER_BATCH and size + cost <= MAX_BATCH_BYTES:
                    lines.append(event["line"])
                else:
                    cost += 26  # {"type":"log","lines":[]},
                    if events and (len(events) >= MAX_EVENTS_PER_BATCH or size + cost > MAX_BATCH_BYTES):
                        break
                    lines = [event["line"]]
                    events.append({"type": "log", "lines": lines})
            else:
                cost = len(_dumps(event)) + 1
                if events and (len(events) >= MAX_EVENTS_PER_BATCH or size + cost > MAX_BATCH_BYTES):
                    break
                lines = None
                events.append(event)
            size += cost
            self._buffer.popleft()
            upto = seq
        return events, upto  # what is left (past the limits) goes next, at once

    def _send(self, events: List[Dict[str, Any]], upto: int, idle: bool) -> None:
        key = str(uuid.uuid4())  # the same on every retry of this batch
        error: Optional[LiveopError] = None
        stop = False
        try:
            body = _dumps(events).encode("utf-8")
            answer = self._http.call(
                "POST", self._url, self._credential, body, idempotency_key=key, session_id=self._session_id
            )
        except (TypeError, ValueError) as bad:  # not JSON: refused before it left
            error = LiveopError(None, "invalid_event", str(bad), session_id=self._session_id)
        except LiveopError as refused:
            error = refused
            if refused.status in (404, 409):
                # Gone or ended — or only an unknown or finished task? A heartbeat with no task, or the snapshot, says.
                stop = idle or self._session_over()
        else:
            if isinstance(answer, dict) and answer.get("cancelRequested"):
                self.cancel_requested = True
            if any(e["type"] in ("error", "cancelled", "chain") for e in events):
                self._ended = True
        with self._cond:
            self._last_sent = time.monotonic()
            self._done = max(self._done, upto)
            if stop:
                self.stopped = True
                self._buffer.clear()
                self._done = self._seq
            if error is not None and not idle and self._error is None:
                self._error = error
            if error is not None and idle and not stop and error.status is not None:
                self._ended = True  # a refused heartbeat (an expired token): stop sending them
            self._cond.notify_all()
        if error is not None and not (idle and stop):
            self._tell(error)

    def _session_over(self) -> bool:
        try:
            snapshot = self._http.call("GET", self._http.url("sessions", self._session_id), self._credential)
        except LiveopError as error:
            return error.status == 404
        if isinstance(snapshot, dict) and snapshot.get("cancelRequested"):
            self.cancel_requested = True
        return isinstance(snapshot, dict) and snapshot.get("status") in _TERMINAL

    def _tell(self, error: LiveopError) -> None:
        if self._on_error is None:
            logger.warning("liveop: %s", error)
            return
        try:
            self._on_error(error)
        except Exception:  # a broken callback must not stop the reporting
            logger.exception("liveop: on_error raised")


_open_channels: "weakref.WeakSet[_Channel]" = weakref.WeakSet()


def _close_all_at_exit() -> None:
    """At interpreter exit, send what sessions still hold (a few seconds at most)."""
    deadline = time.monotonic() + 5.0
    for channel in list(_open_channels):
        try:
            channel.close(max(deadline - time.monotonic(), 0.1))
        except Exception as error:  # exiting anyway: say so, do not raise
            logger.warning("liveop: at exit: %s", error)


def _after_fork_in_child() -> None:
    for channel in list(_open_channels):
        channel._after_fork()
    _open_channels.clear()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
