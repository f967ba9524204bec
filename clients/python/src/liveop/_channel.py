"""A session's event buffer and the one background thread that sends it, a batch at a time, in order."""

from __future__ import annotations

import atexit
import collections
import math
import os
import threading
import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional

from ._http import logger
from ._wire import MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, REPORTS, TERMINAL, dumps
from .errors import LiveopError

if TYPE_CHECKING:
    from .reporter import Reporter


class Channel:
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
        self._quiet = False  # no more heartbeats: the session ended, or a heartbeat was refused
        self.ended_by_us = False  # an accepted batch of ours ended it (error, cancelled, chain)
        self.stopped = False  # the server refused the session: drop everything
        self.cancel_requested = False
        self._pid = os.getpid()

    # ------------------------------------------------------ caller side ---

    def push(self, event: Dict[str, Any]) -> None:
        with self._cond:
            if self.closed or self.stopped:
                return
            self._seq += 1
            if event["type"] in REPORTS:
                # It replaces the last report for its task while only progress reports came after that one.
                for back in range(1, len(self._buffer) + 1):
                    earlier = self._buffer[-back][1]
                    if earlier["type"] not in REPORTS:
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
                if self._closing or self._quiet:
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
            if event["type"] == "log" and "data" not in event:
                cost = len(dumps(event["line"])) + 1
                if lines is not None and len(lines) < MAX_EVENTS_PER_BATCH and size + cost <= MAX_BATCH_BYTES:
                    lines.append(event["line"])
                else:
                    cost += 26  # {"type":"log","lines":[]},
                    if events and (len(events) >= MAX_EVENTS_PER_BATCH or size + cost > MAX_BATCH_BYTES):
                        break
                    lines = [event["line"]]
                    events.append({"type": "log", "lines": lines})
            else:
                cost = len(dumps(event)) + 1
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
            body = dumps(events).encode("utf-8")
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
                self.ended_by_us = self._quiet = True
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
                self._quiet = True  # a refused heartbeat (an expired token): stop sending them
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
        return isinstance(snapshot, dict) and snapshot.get("status") in TERMINAL

    def _tell(self, error: LiveopError) -> None:
        if self._on_error is None:
            logger.warning("liveop: %s", error)
            return
        try:
            self._on_error(error)
        except Exception:  # a broken callback must not stop the reporting
            logger.exception("liveop: on_error raised")


_open_channels: "weakref.WeakSet[Channel]" = weakref.WeakSet()


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
