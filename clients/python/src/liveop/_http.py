"""Requests with retries: the part of the reporter that talks to the server."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import math
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional

from ._wire import RETRIED_STATUSES, VERSION
from .errors import LiveopError

logger = logging.getLogger("liveop")


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
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


class Http:
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
        headers = {"Accept": "application/json", "User-Agent": f"liveop-python/{VERSION}"}
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
                elif error.status in RETRIED_STATUSES and not last:
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
        return LiveopError(status, code, message, retry_after=retry_after_seconds(headers.get("Retry-After")))
