"""The Python reporter (server/client/python/liveop.py) against a real Liveop server.

The server's base URL comes from LIVEOP_URL (test/client/python-reporter.test.ts
starts one and runs this with `python3 -m unittest discover -s test/client/python -v`).
Where a test needs a lost answer or a 503, a small proxy in front of the server
makes it.
"""

import http.client
import http.server
import json
import os
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "server", "client", "python"))

from liveop import LiveopError, Reporter  # noqa: E402

URL = os.environ.get("LIVEOP_URL", "").rstrip("/")


def setUpModule():
    if not URL:
        raise unittest.SkipTest("LIVEOP_URL is not set: run through test/client/python-reporter.test.ts")


def wait_for(check, timeout=5.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)


def post(url, token=None):
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


class ReporterTest(unittest.TestCase):
    def setUp(self):
        self.errors = []
        self.reporter = Reporter(URL, on_error=self.errors.append)

    def test_reports_steps_logs_and_a_result_and_reads_them_back(self):
        s = self.reporter.create_session(
            "Import catalogue", {"import": "Import rows"}, stages=["Load", "Save"], ttl_seconds=600
        )
        self.assertTrue(s.id and s.viewer_token and s.reporter_token)
        self.assertEqual(s.stream_url, f"{URL}/sessions/{s.id}/stream")
        self.assertEqual(s.snapshot_url, f"{URL}/sessions/{s.id}")
        with s:
            s.stage("Load")
            s.start("import")
            for row in range(1, 501):
                s.steps("import", row, 500)
                if row % 100 == 0:
                    s.log(f"row {row}")
            s.log("done", "saving")
            s.flush()
            self.assertEqual(s.snapshot()["tasks"][0]["done"], 500)
            # The count belongs to its stage: the next one starts the bar, and the count, afresh.
            s.stage("Save")
            s.result({"imported": 500}, artifacts=[{"name": "report.csv", "url": "https://example.com/r.csv"}])
            s.complete("import", "500 rows")
        snapshot = wait_for(lambda: (lambda snap: snap["status"] == "complete" and snap)(s.snapshot()))
        self.assertEqual(
            [entry["line"] for entry in snapshot["logs"]],
            ["row 100", "row 200", "row 300", "row 400", "row 500", "done", "saving"],
        )
        self.assertEqual(snapshot["percent"], 100)
        self.assertNotIn("done", snapshot["tasks"][0])
        self.assertEqual(snapshot["result"], {"imported": 500})
        self.assertEqual(snapshot["artifacts"], [{"name": "report.csv", "url": "https://example.com/r.csv"}])
        self.assertEqual([stage["state"] for stage in snapshot["stages"]], ["done", "done"])
        self.assertEqual(self.errors, [])

    def test_sends_tasks_as_a_list_and_options_in_the_wires_camel_case(self):
        s = self.reporter.create_session(
            tasks=[{"id": "a", "name": "A", "weight": 3, "expected_ms": 5_000}, {"id": "b", "name": "B"}],
            dead_after_ms=60_000,
            stall_after_ms=5_000,
        )
        self.assertEqual([task["id"] for task in s.snapshot()["tasks"]], ["a", "b"])
        with self.assertRaises(LiveopError) as refused:
            self.reporter.create_session(bogus_option=1)
        self.assertEqual((refused.exception.status, refused.exception.code), (400, "invalid_body"))
        self.assertIn("bogusOption", refused.exception.message)

    def test_mints_a_fresh_viewer_token_that_reads_the_session(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        token = self.reporter.viewer_token(s.id, "view", ttl_seconds=60)
        self.assertNotEqual(token, s.viewer_token)
        request = urllib.request.Request(s.snapshot_url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            self.assertEqual(json.loads(response.read())["id"], s.id)
        with self.assertRaises(urllib.error.HTTPError) as refused:  # view only: no cancel right
            post(f"{URL}/sessions/{s.id}/cancel", token)
        self.assertEqual(refused.exception.code, 403)

    def test_shortens_texts_past_the_limits_instead_of_losing_the_batch(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        data = {"rows": 3}
        s.log("x" * 5_000, "\U0001F600" * 1_500, "Grüße, 東京")
        s.message("m" * 3_000)
        s.result(data)
        data["rows"] = 4  # what result() was given is what is sent
        s.flush()
        snapshot = s.snapshot()
        long_line, emoji, accented = [entry["line"] for entry in snapshot["logs"]]
        self.assertEqual((len(long_line), long_line[-1]), (2_000, "\u2026"))
        self.assertEqual(len(emoji.encode("utf-16-le")) // 2, 1_999)  # 999 emoji and the ellipsis
        self.assertEqual(accented, "Grüße, 東京")
        self.assertEqual(len(snapshot["message"]["text"]), 2_000)
        self.assertEqual(snapshot["result"], {"rows": 3})
        with self.assertRaises(TypeError):
            s.result({"not json": {1, 2}})
        s.close()

    def test_a_thousand_percent_reports_make_a_handful_of_versions(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        s.start("a")
        s.flush()
        before = s.snapshot()["version"]
        for i in range(1_000):
            s.percent("a", i / 10)
        s.flush()
        snapshot = s.snapshot()
        self.assertLessEqual(snapshot["version"] - before, 5)
        self.assertGreaterEqual(snapshot["version"] - before, 1)
        self.assertEqual(snapshot["tasks"][0]["percent"], 99)  # 99.9, shown as 99 until complete
        s.close()

    def test_keeps_only_the_newest_report_of_a_run_but_every_log_line(self):
        created = self.reporter.create_session(tasks={"a": "A", "b": "B"})
        proxy = Proxy(None)
        try:
            s = Reporter(proxy.url, flush_interval=1.0).session(created.id, created.reporter_token)
            for row in range(1, 1_001):
                s.steps("a", row, 1_000)
                s.percent("b", row / 10)
                if row % 100 == 0:
                    s.log(f"row {row}")
            s.flush()
        finally:
            proxy.close()
        events = [event for body in proxy.bodies for event in body]
        reports = [event for event in events if event["type"] in ("steps", "percent")]
        # Between two other events (here the log lines) and in each batch, one report per task at most.
        for body in proxy.bodies:
            run = []
            for event in body + [{"type": "end of batch"}]:
                if event["type"] in ("steps", "percent"):
                    run.append(event["task"])
                    continue
                self.assertEqual(sorted(run), sorted(set(run)))
                run = []
        self.assertLessEqual(len(reports), 2 * (10 + len(proxy.bodies)))
        self.assertEqual(
            reports[-2:],
            [
                {"type": "steps", "task": "a", "done": 1_000, "total": 1_000},
                {"type": "percent", "task": "b", "value": 100.0},
            ],
        )
        lines = [line for event in events if event["type"] == "log" for line in event["lines"]]
        self.assertEqual(lines, [f"row {row}" for row in range(100, 1_001, 100)])
        self.assertEqual([entry["line"] for entry in created.snapshot()["logs"]], lines)
        s.close()

    def test_keeps_batches_within_the_servers_limits(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        line = "x" * 480
        for i in range(12_000):  # ~6 MB of log: several bodies under 1 MiB
            s.log(f"{i:06d} {line}")
        s.flush()
        logged = s.snapshot()
        self.assertEqual(logged["logSeq"], 12_000)
        self.assertEqual(logged["logs"][-1]["line"], f"011999 {line}")
        self.assertGreaterEqual(logged["version"], 1 + 6)
        for i in range(25_000):  # small events, but more than 10,000 of them
            s.message(f"m{i}")
        s.flush()
        messaged = s.snapshot()
        self.assertGreaterEqual(messaged["version"] - logged["version"], 3)
        self.assertEqual(messaged["message"]["text"], "m24999")
        s.close()
        self.assertEqual(self.errors, [])

    def test_a_batch_whose_answer_was_lost_is_sent_again_and_applied_once(self):
        created = self.reporter.create_session(tasks={"a": "A"})
        proxy = Proxy("drop")
        try:
            s = Reporter(proxy.url, retry_backoff=0.1).session(created.id, created.reporter_token)
            s.log("once")
            s.steps("a", 1, 10)
            s.flush()
        finally:
            proxy.close()
        (first_key, first), (again_key, again), *later = proxy.batches
        self.assertEqual((first, again), ("drop", "forwarded"))
        self.assertEqual(first_key, again_key)
        keys = [first_key] + [key for key, _ in later]
        self.assertEqual(len(set(keys)), len(keys))  # a new batch, a new key
        snapshot = created.snapshot()
        self.assertEqual([entry["line"] for entry in snapshot["logs"]], ["once"])
        self.assertEqual(snapshot["version"], 1 + len(keys))  # created, then each batch once
        self.assertEqual(snapshot["tasks"][0]["done"], 1)
        s.close()

    def test_a_503_is_retried_after_its_retry_after(self):
        created = self.reporter.create_session(tasks={"a": "A"})
        proxy = Proxy("503")
        try:
            s = Reporter(proxy.url).session(created.id, created.reporter_token)
            s.log("after the outage")
            started = time.monotonic()
            s.flush()
            waited = time.monotonic() - started
        finally:
            proxy.close()
        self.assertGreaterEqual(waited, 0.9)
        self.assertEqual([what for _, what in proxy.batches], ["503", "forwarded"])
        self.assertEqual(proxy.batches[0][0], proxy.batches[1][0])
        self.assertEqual([entry["line"] for entry in created.snapshot()["logs"]], ["after the outage"])
        s.close()

    def test_cancel_requested_becomes_true_after_a_cancel(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        s.start("a")
        s.flush()
        self.assertFalse(s.cancel_requested)
        status, _ = post(f"{URL}/sessions/{s.id}/cancel", s.viewer_token)
        self.assertEqual(status, 202)
        s.steps("a", 1, 10)
        s.flush()
        self.assertTrue(s.cancel_requested)
        s.cancelled()
        s.close()
        self.assertEqual(s.snapshot()["status"], "cancelled")

    def test_cancel_from_the_server_side_reaches_a_worker_attached_elsewhere(self):
        web = self.reporter.create_session(tasks={"a": "A"})
        worker = self.reporter.session(web.id, web.reporter_token)
        worker.start("a")
        worker.flush()
        web.cancel()
        self.assertFalse(worker.cancel_requested)
        worker.heartbeat()
        worker.flush()
        self.assertTrue(worker.cancel_requested)
        reader = self.reporter.session(web.id, web.reporter_token)
        reader.snapshot()  # a snapshot says so too
        self.assertTrue(reader.cancel_requested)
        worker.cancelled()
        worker.close()

    def test_sends_heartbeats_while_idle_and_stops_when_closed(self):
        reporter = Reporter(URL, heartbeat_interval=0.2)
        s = reporter.create_session(tasks={"a": "A"})
        s.start("a")
        s.flush()
        before = s.snapshot()["version"]
        time.sleep(1.2)
        idle = s.snapshot()["version"]
        self.assertGreaterEqual(idle - before, 3)
        s.close()
        closed = s.snapshot()["version"]
        time.sleep(0.6)
        self.assertEqual(s.snapshot()["version"], closed)

    def test_sends_no_heartbeats_when_told_not_to(self):
        s = Reporter(URL, heartbeat_interval=0).create_session(tasks={"a": "A"})
        s.start("a")
        s.flush()
        before = s.snapshot()["version"]
        time.sleep(0.5)
        self.assertEqual(s.snapshot()["version"], before)
        s.close()

    def test_a_refused_batch_raises_the_servers_message_and_reporting_carries_on(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        s.percent("ghost", 10)
        with self.assertRaises(LiveopError) as refused:
            s.flush()
        error = refused.exception
        self.assertEqual((error.status, error.code), (404, "not_found"))
        self.assertIn('unknown task "ghost"', error.message)
        self.assertEqual(self.errors, [error])
        s.log("still here")
        s.flush()
        self.assertFalse(s.ended)
        self.assertEqual([entry["line"] for entry in s.snapshot()["logs"]], ["still here"])
        s.close()

    def test_an_ended_session_stops_the_reporter(self):
        s = self.reporter.create_session(tasks={"a": "A"})
        s.complete("a")
        s.flush()
        wait_for(lambda: s.snapshot()["status"] == "complete")
        s.log("too late")
        with self.assertRaises(LiveopError) as refused:
            s.flush()
        self.assertEqual(refused.exception.status, 409)
        self.assertTrue(s.ended)
        s.log("dropped")
        s.close()  # nothing more to raise

    def test_the_context_manager_reports_an_exception_as_the_sessions_error(self):
        with self.assertRaises(ValueError):
            with self.reporter.create_session(tasks={"a": "A"}) as s:
                s.start("a")
                raise ValueError("bad row 7")
        snapshot = s.snapshot()
        self.assertEqual(snapshot["status"], "error")
        self.assertEqual(snapshot["error"]["message"], "bad row 7")
        s.log("after close")  # ignored, as after close() anywhere
        s.flush()
        self.assertEqual(s.snapshot()["version"], snapshot["version"])


if __name__ == "__main__":
    unittest.main()
