"""Report the progress of long-running work to a Liveop server.

The core is the standard library only (Python 3.9 or newer); ``liveop.celery``
and ``liveop.django`` integrate Celery and Django, importing them only when
used. A web request creates the session and hands the page its
``stream_url`` and ``viewer_token``; a worker reports to it::

    from liveop import Reporter

    reporter = Reporter("https://liveop.example.com", api_key="...")

    rows = load_rows()
    with reporter.create_session("Import catalogue", tasks={"rows": "Import rows"}) as s:
        for row in s.track(rows, unit="rows"):
            save(row)
        s.result({"imported": len(rows)})

Calls never wait for the network: events are buffered and a background
thread sends them in batches, each with an ``Idempotency-Key`` kept across
its retries, and heartbeats while the work is quiet. A clean exit of the
``with`` block completes what is still running; an exception ends the session
as ``error`` (the traceback for the key holder only); ``liveop.Cancelled``
(raised by ``track()`` when a viewer cancels) ends it as ``cancelled``. See
docs/python.md.
"""

from ._wire import VERSION as __version__
from .errors import Cancelled, LiveopError
from .reporter import Reporter
from .session import Session, Stage

__all__ = ["Cancelled", "LiveopError", "Reporter", "Session", "Stage", "__version__"]
