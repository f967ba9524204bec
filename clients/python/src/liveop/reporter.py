"""The Reporter: a Liveop server, as a key holder and a worker talk to it."""

from __future__ import annotations

import os
import time
import urllib.parse
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

from ._http import Http
from ._wire import camel, dumps
from .errors import LiveopError
from .session import DEFAULT_TASK, Session


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

    @classmethod
    def from_environment(cls, **options: Any) -> "Reporter":
        """The reporter ``LIVEOP_URL`` and ``LIVEOP_API_KEY`` (if set) describe; raises ``LookupError`` without a URL."""
        url = os.environ.get("LIVEOP_URL")
        if not url:
            raise LookupError("liveop: set LIVEOP_URL (the Liveop server's base URL), or pass a Reporter")
        return cls(url, os.environ.get("LIVEOP_API_KEY") or None, **options)

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
        self._http = Http(self.base_url, timeout, retry_attempts, retry_backoff, retry_max_delay)

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
            ``expected_ms``, ``owner``, ``subject`` (the end user it is for,
            e.g. a site's user id), ``viewer_scope``, ``webhook``,
            ``tags`` (``{"batch": "b1"}``), ``expected_children`` (a parent:
            its bar and status roll up its children's) and ``parent`` (a
            child of that parent, e.g. one task of a Celery chord).

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
                body["tasks"] = [{camel(k): v for k, v in task.items() if v is not None} for task in tasks]
        if stages is not None:
            body["stages"] = list(stages)
        for key, value in options.items():
            if value is not None:
                body[camel(key)] = value
        created = self._create(dumps(body).encode("utf-8"))
        declared = list(body["tasks"]) if "tasks" in body else [DEFAULT_TASK]
        only = declared[0] if len(declared) == 1 else None
        return Session(
            self,
            created["id"],
            created["reporterToken"],
            viewer_token=created.get("viewerToken"),
            stream_url=created.get("streamUrl"),
            snapshot_url=created.get("snapshotUrl"),
            watch_url=created.get("watchUrl"),
            default_task=only if isinstance(only, str) else (only or {}).get("id"),
        )

    def session(
        self, id: str, reporter_token: Optional[str] = None, *, task: Optional[str] = DEFAULT_TASK
    ) -> "Session":
        """Attaches to an existing session, e.g. in the worker a web request handed the id and token.

        Without ``reporter_token`` the reporter's API key is used. ``task``
        is the one ``track()`` and ``complete()`` mean when none is named.
        """
        return Session(self, id, reporter_token, default_task=task)

    def viewer_token(self, session_id: str, scope: str = "view+cancel", ttl_seconds: Optional[int] = None) -> str:
        """Mints another viewer token for a session (``POST /sessions/:id/tokens``, with the API key).

        Viewer tokens expire (1 h by default): a page that shows a session
        later, or again, asks for a fresh one. ``scope``: ``view`` or ``view+cancel``.
        """
        body: Dict[str, Any] = {"scope": scope}
        if ttl_seconds is not None:
            body["ttlSeconds"] = int(ttl_seconds)
        url = self._http.url("sessions", session_id, "tokens")
        minted = self._http.call("POST", url, self.api_key, dumps(body).encode("utf-8"), session_id=session_id)
        return minted["token"]

    def read(self, session_id: str) -> Dict[str, Any]:
        """The session's snapshot (``GET /sessions/:id``); with the API key it carries ``errorDetail``."""
        return self._http.call("GET", self._http.url("sessions", session_id), self.api_key, session_id=session_id)

    def list_sessions(
        self,
        *,
        status: Union[str, Sequence[str], None] = None,
        q: Optional[str] = None,
        subject: Optional[str] = None,
        parent: Optional[str] = None,
        top_level: bool = False,
        tags: Optional[Mapping[str, str]] = None,
        operation: Optional[str] = None,
        since: Optional[str] = None,
        until: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Dict[str, Any]:
        """One page of the key's sessions, newest first (``GET /sessions``): ``{"sessions": [...], "cursor": ...}``.

        Each entry is a snapshot with its ``streamUrl`` and a view-only
        ``viewerToken``; pass ``cursor`` back for the next page (``None``
        after the last). Filters combine: ``status`` (``"running"`` or a
        list; ``"retrying"`` too), ``q`` in the title, ``subject`` (one end
        user's), ``parent`` (its children), ``top_level`` (only sessions
        with no parent), ``tags`` (all must match), ``operation``, and
        ``since``/``until`` (ISO 8601 times of creation).
        """
        query = [
            ("status", status if status is None or isinstance(status, str) else ",".join(status)),
            ("q", q),
            ("subject", subject),
            ("parent", parent),
            ("topLevel", "true" if top_level else None),
            *(("tag", f"{key}:{value}") for key, value in (tags or {}).items()),
            ("operation", operation),
            ("since", since),
            ("until", until),
            ("limit", limit),
            ("cursor", cursor),
        ]
        given = urllib.parse.urlencode([(key, value) for key, value in query if value is not None])
        url = self._http.url("sessions") + (f"?{given}" if given else "")
        return self._http.call("GET", url, self.api_key)

    def cancel(self, session_id: str) -> None:
        """Asks the session's work to stop (``POST /sessions/:id/cancel``): its reporter sees ``cancel_requested``."""
        self._http.call("POST", self._http.url("sessions", session_id, "cancel"), self.api_key, session_id=session_id)

    def delete(self, session_id: str) -> None:
        """Deletes the session (``DELETE /sessions/:id``): its viewers get ``gone``, its reporter stops."""
        self._http.call("DELETE", self._http.url("sessions", session_id), self.api_key, session_id=session_id)

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
