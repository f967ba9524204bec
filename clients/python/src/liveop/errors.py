"""What the reporter raises."""

from __future__ import annotations

from typing import Optional


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


class Cancelled(Exception):
    """A viewer asked to cancel: raised by ``Session.track()`` (or by your code) to stop the work.

    Leaving a session's ``with`` block (or a ``LiveopTask``) by it ends the
    session as ``cancelled``, not ``error``.
    """

    def __init__(self, session_id: Optional[str] = None) -> None:
        super().__init__(f"a cancel was requested for session {session_id}" if session_id else "cancelled")
        #: The session whose cancel this is.
        self.session_id = session_id
