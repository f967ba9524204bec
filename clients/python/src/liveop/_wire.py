"""The protocol's limits and encoding, as the reporter sends events (docs/protocol.md)."""

from __future__ import annotations

import json
from typing import Any

VERSION = "0.1.0"

# The server's limits (docs/protocol.md): a batch is at most 10,000 events and
# 1 MiB of body; texts past their limit would make the server refuse the whole
# batch, so they are shortened here instead.
MAX_EVENTS_PER_BATCH = 10_000
MAX_BATCH_BYTES = 1_000_000  # under the 1 MiB body limit, with room to spare
MAX_LOG_LINE = 2_000
MAX_MESSAGE = 2_000
MAX_ERROR = 10_000
MAX_NAME = 500
MAX_UNIT = 40
MAX_OUTPUT_CHUNK = 256 * 1024  # what one output stream retains

RETRIED_STATUSES = (429, 502, 503, 504)
TERMINAL = ("complete", "error", "cancelled")
LEVELS = ("info", "warning", "error")
STAGE_STATES = ("pending", "active", "done", "failed", "cancelled")
REPORTS = ("percent", "steps")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def clip(text: Any, limit: int) -> str:
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


def dumps(value: Any) -> str:
    # ASCII with escapes: its length is its size in bytes, and a lone surrogate cannot fail to encode.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def json_copy(value: Any) -> Any:
    """The value as it will be sent, now: raises here when it is not JSON, and later changes to it are not sent."""
    return json.loads(dumps(value))



def clip_tail(text: str, limit: int) -> str:
    """Shortened to its end (a traceback's end says most), starting with an ellipsis when cut."""
    if len(text) * 2 <= limit or len(text.encode("utf-16-le", "surrogatepass")) // 2 <= limit:
        return text
    units = 0
    for i in range(len(text) - 1, -1, -1):
        units += 2 if ord(text[i]) > 0xFFFF else 1
        if units > limit - 1:  # room for the ellipsis
            return "\u2026" + text[i + 1 :]
    return text
