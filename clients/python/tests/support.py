"""What the tests share: the server they talk to, waiting on a condition, and a proxy that loses answers."""

import http.client
import http.server
import json
import os
import threading
import time
import unittest
import urllib.parse
import urllib.request

URL = os.environ.get("LIVEOP_URL", "").rstrip("/")
#: The server's API key (the tests' owner): test/client/python.test.ts starts the server with it.
KEY = os.environ.get("LIVEOP_API_KEY", "")


def require_server():
    """For each test module's setUpModule: these tests need the server test/client/python.test.ts starts."""
    if not URL or not KEY:
        raise unittest.SkipTest("LIVEOP_URL and LIVEOP_API_KEY are not set: run through test/client/python.test.ts")


def wait_for(check, timeout=5.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)


def ended(reporter, session_id, timeout=30.0):
    """Waits for the session to end (read with the reporter's key), answering its last snapshot."""
    return wait_for(
        lambda: (lambda snap: snap["status"] in ("complete", "error", "cancelled") and snap)(reporter.read(session_id)),
        timeout,
        f"session {session_id} to end",
    )


def post(url, token=None):
    """POSTs nothing to ``url`` with ``token``: (status, parsed answer)."""
    request = urllib.request.Request(url, data=b"", method="POST")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read() or b"null")


class Proxy:
    """Forwards everything to LIVEOP_URL, keeping each event batch's body in ``bodies``.

    The first event batch may be mistreated: ``mode="drop"``: the batch reaches the server, but its answer is dropped
    (the connection closes without one). ``mode="503"``: the proxy answers 503
    with ``Retry-After: 1`` and forwards nothing. Every batch it saw is in
    ``batches`` as ``(Idempotency-Key, what happened)``.
    """

    def __init__(self, mode):
        self.mode = mode
        self.batches = []
        self.bodies = []
        upstream = urllib.parse.urlsplit(URL)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.forward()

            def do_POST(self):
                self.forward()

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                is_batch = self.command == "POST" and self.path.endswith("/events")
                first = is_batch and not proxy.batches
                if is_batch:
                    proxy.bodies.append(json.loads(body))
                    what = proxy.mode if first and proxy.mode else "forwarded"
                    proxy.batches.append((self.headers.get("Idempotency-Key"), what))
                if first and proxy.mode == "503":
                    answer = b'{"error":{"code":"unavailable","message":"the session store is unavailable; try again"}}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                payload = body if self.command == "POST" else None
                connection.request(self.command, self.path, body=payload, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                connection.close()
                if first and proxy.mode == "drop":
                    # Applied upstream; the reporter never hears so.
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for name in ("Content-Type", "Retry-After"):
                    if response.getheader(name):
                        self.send_header(name, response.getheader(name))
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Stream:
    """Reads a session's NDJSON stream on a thread from its first line, keeping every line in ``lines``."""

    def __init__(self, url, token):
        self.lines = []
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        self._response = urllib.request.urlopen(request, timeout=30)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for raw in self._response:
                if raw.strip():
                    self.lines.append(json.loads(raw))
        except (OSError, ValueError):
            pass  # closed

    def statuses(self):
        """The statuses its snapshots went through, each once, in order."""
        seen = []
        for line in self.lines:
            if line.get("type") == "snapshot" and (not seen or seen[-1] != line["status"]):
                seen.append(line["status"])
        return seen

    def last(self):
        return next((line for line in reversed(self.lines) if line.get("type") == "snapshot"), None)

    def ended(self):
        """Waits for the stream's end (it ends after the terminal snapshot), returning that snapshot."""
        self._thread.join(30)
        return self.last()

    def close(self):
        self._response.close()
