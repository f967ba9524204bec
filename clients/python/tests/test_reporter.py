"""The reporter (the installed `liveop` package) against a real Liveop server.

The server's base URL comes from LIVEOP_URL (test/client/python.test.ts
starts one and runs the suite in a venv with the wheel installed).
Where a test needs a lost answer or a 503, a small proxy in front of the server
makes it.
"""

import json
import sys
import time
import unittest
import urllib.error
import urllib.request

import liveop
from liveop import Cancelled, LiveopError, Reporter

from support import KEY, URL, Proxy, post, require_server, wait_for


def setUpModule():
    require_server()


class ReporterTest(unittest.TestCase):
    def setUp(self):
        self.errors = []
        self.reporter = Reporter(URL, KEY, on_error=self.errors.append)

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

    def test_pipes_an_iterable_into_an_output_stream_and_sends_items_and_keyed_messages(self):
        s = self.reporter.create_session("Answer")
        with s:
            s.pipe("answer", (f"t{i} " for i in range(300)))
            s.pipe("bytes", ["é".encode()[:1], "é".encode()[1:] + "✓".encode()])
            s.pipe("rows", [{"sku": "A-1"}, [1, 2]])
            s.item("Imported A-1", {"sku": "A-1", "qty": 3})
            s.message("Row 3 of 9", key="import.row", params={"row": 3, "total": 9})
            s.flush()
            read = s.snapshot()
            s.complete()
        self.assertEqual(read["outputs"]["answer"], {"offset": 0, "text": "".join(f"t{i} " for i in range(300))})
        self.assertEqual(read["outputs"]["bytes"], {"offset": 0, "text": "é✓"})
        self.assertEqual(read["outputs"]["rows"], {"offset": 0, "data": [{"sku": "A-1"}, [1, 2]]})
        self.assertEqual(read["logs"][-1]["data"], {"sku": "A-1", "qty": 3})
        self.assertEqual(read["message"]["key"], "import.row")
        self.assertEqual(read["message"]["params"], {"row": 3, "total": 9})
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
        s.steps("a", 1, 2, unit="u" * 100)
        s.result(data)
        data["rows"] = 4  # what result() was given is what is sent
        s.flush()
        snapshot = s.snapshot()
        long_line, emoji, accented = [entry["line"] for entry in snapshot["logs"]]
        self.assertEqual((len(long_line), long_line[-1]), (2_000, "\u2026"))
        self.assertEqual(len(emoji.encode("utf-16-le")) // 2, 1_999)  # 999 emoji and the ellipsis
        self.assertEqual(accented, "Grüße, 東京")
        self.assertEqual(len(snapshot["message"]["text"]), 2_000)
        self.assertEqual(snapshot["tasks"][0]["unit"], "u" * 39 + "\u2026")
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
        s = self.reporter.create_session(tasks={"a": "A"}, viewer_scope="view+cancel")
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
        reporter = Reporter(URL, KEY, heartbeat_interval=0.2)
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
        s = Reporter(URL, KEY, heartbeat_interval=0).create_session(tasks={"a": "A"})
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


class PackageTest(unittest.TestCase):
    def test_is_the_installed_wheel_not_the_sources(self):
        self.assertTrue(liveop.__file__.startswith(sys.prefix), liveop.__file__)
        self.assertNotEqual(sys.prefix, sys.base_prefix)  # a venv


class WorkTest(unittest.TestCase):
    """What a worker writes: track(), stage blocks, and the with block's ending."""

    def setUp(self):
        self.reporter = Reporter(URL, KEY)

    def test_track_counts_the_items_with_their_unit_and_the_exit_completes(self):
        with self.reporter.create_session("Rows", tasks={"rows": "Rows"}, stages=["Read", "Save"]) as s:
            with s.stage("Read"):
                rows = list(range(50))
            with s.stage("Save"):
                seen = []
                for row in s.track(rows, unit="rows", label="Saving rows"):
                    seen.append(row)
                    if row == 25:
                        s.flush()
                        during = s.snapshot()["tasks"][0]
            s.result({"rows": len(seen)})
        self.assertEqual(seen, rows)
        snapshot = wait_for(lambda: (lambda snap: snap["status"] == "complete" and snap)(s.snapshot()))
        task = snapshot["tasks"][0]
        self.assertEqual((task["status"], task["total"], task["unit"]), ("complete", 50, "rows"))
        self.assertEqual(during["message"], "Saving rows")
        # What it said it was doing is over once the task is complete.
        self.assertNotIn("message", task)
        self.assertEqual([stage["state"] for stage in snapshot["stages"]], ["done", "done"])
        self.assertEqual(snapshot["result"], {"rows": 50})

    def test_track_without_a_length_shows_the_count_as_the_message(self):
        with self.reporter.create_session("Stream") as s:
            for _ in s.track(iter(range(7)), unit="lines"):
                pass
        snapshot = wait_for(lambda: (lambda snap: snap["status"] == "complete" and snap)(s.snapshot()))
        self.assertEqual(snapshot["message"]["text"], "7 lines")

    def test_track_raises_cancelled_and_the_with_block_ends_the_session_cancelled(self):
        reached = []
        with self.reporter.create_session("Cancel me", viewer_scope="view+cancel") as s:
            with s.stage("Work"):
                for i in s.track(range(1_000)):
                    reached.append(i)
                    if i == 3:
                        post(f"{URL}/sessions/{s.id}/cancel", s.viewer_token)
                        # Something to send (the thread may have sent all else already): its answer says so.
                        s.heartbeat()
                        s.flush()
            reached.append("after the loop")  # not reached: Cancelled left the block
        self.assertLess(len(reached), 10)
        self.assertNotIn("after the loop", reached)
        snapshot = s.snapshot()
        self.assertEqual(snapshot["status"], "cancelled")
        self.assertEqual(snapshot["stages"][0]["state"], "cancelled")

    def test_an_exception_is_the_error_with_its_traceback_for_the_key_holder_only(self):
        def import_rows():
            raise KeyError("sku")

        with self.assertRaises(KeyError):
            with self.reporter.create_session("Fails", viewer_scope="view") as s:
                with s.stage("Import"):
                    import_rows()
        owner = self.reporter.read(s.id)
        self.assertEqual(owner["status"], "error")
        self.assertEqual(owner["error"]["message"], "'sku'")
        self.assertIn("Traceback (most recent call last)", owner["errorDetail"])
        self.assertIn("in import_rows", owner["errorDetail"])
        self.assertEqual(owner["stages"][0]["state"], "failed")
        viewer = Reporter(URL).session(s.id, s.viewer_token).snapshot()
        self.assertEqual(viewer["error"]["message"], "'sku'")
        self.assertNotIn("errorDetail", viewer)

    def test_a_clean_exit_completes_only_what_is_still_running(self):
        with self.reporter.create_session(tasks={"a": "A", "b": "B", "c": "C"}) as s:
            s.steps("a", 1, 2, unit="files")
            s.complete("b", "done early")
        snapshot = wait_for(lambda: (lambda snap: snap["status"] == "complete" and snap)(s.snapshot()))
        self.assertEqual([task["status"] for task in snapshot["tasks"]], ["complete"] * 3)
        with self.assertRaises(TypeError):  # several tasks: track() needs to be told which
            next(iter(self.reporter.create_session(tasks={"a": "A", "b": "B"}).track([1])))

    def test_a_chain_hands_the_viewers_the_next_session(self):
        first = self.reporter.create_session("First")
        second = self.reporter.create_session("Second")
        worker = Reporter(URL).session(first.id, first.reporter_token)
        worker.chain(second.id, second.reporter_token)
        worker.close()
        snapshot = wait_for(lambda: (lambda snap: snap["status"] == "complete" and snap)(self.reporter.read(first.id)))
        self.assertEqual(snapshot["next"]["id"], second.id)


class KeyHolderTest(unittest.TestCase):
    """What the API key's holder does with sessions: list, read, cancel, delete, mint viewer tokens."""

    def setUp(self):
        self.reporter = Reporter(URL, KEY)

    def test_lists_reads_cancels_and_deletes(self):
        title = f"Listed {time.monotonic_ns()}"
        s = self.reporter.create_session(title)
        s.start("main")
        s.flush()
        page = self.reporter.list_sessions(q=title, status=["running", "pending"])
        self.assertEqual([entry["id"] for entry in page["sessions"]], [s.id])
        self.assertTrue(page["sessions"][0]["viewerToken"])
        self.reporter.cancel(s.id)
        self.assertTrue(self.reporter.read(s.id)["cancelRequested"])
        self.reporter.delete(s.id)
        with self.assertRaises(LiveopError) as gone:
            self.reporter.read(s.id)
        self.assertEqual(gone.exception.status, 404)
        self.assertEqual(self.reporter.list_sessions(q=title)["sessions"], [])

    def test_a_batch_is_a_parent_its_children_listed_by_parent_tag_and_top_level(self):
        batch = f"b{time.monotonic_ns()}"
        parent = self.reporter.create_session("Batch", expected_children=2, tags={"batch": batch})
        children = [
            self.reporter.create_session(f"File {i}", parent=parent.id, tags={"batch": batch}) for i in range(2)
        ]

        def ids(**query):
            return sorted(entry["id"] for entry in self.reporter.list_sessions(**query)["sessions"])

        self.assertEqual(ids(parent=parent.id), sorted(child.id for child in children))
        self.assertEqual(ids(tags={"batch": batch}), sorted([parent.id] + [child.id for child in children]))
        self.assertEqual(ids(tags={"batch": batch}, top_level=True), [parent.id])
        for child in children:
            child.complete("main")
            child.close()
        done = wait_for(lambda: (lambda snap: snap["status"] == "complete" and snap)(parent.snapshot()))
        self.assertEqual((done["children"]["total"], done["children"]["complete"]), (2, 2))

    def test_a_bad_filter_is_refused_naming_it(self):
        with self.assertRaises(LiveopError) as refused:
            self.reporter.list_sessions(status="finished")
        self.assertEqual(refused.exception.status, 400)
        self.assertIn("status", refused.exception.message)


if __name__ == "__main__":
    unittest.main()
