"""liveop.celery against a real `celery worker` process on the shared Redis and the real server.

Each run uses its own Redis key prefix and queue names; every worker is
started in a process group of its own and stopped whole.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest
import uuid

import redis

from liveop import Reporter
from liveop.celery import enqueue

import celery_app
from support import KEY, URL, Stream, ended, post, require_server, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
QUEUE = f"{celery_app.PREFIX}default"


def setUpModule():
    require_server()


def tearDownModule():
    celery_app.delete_keys()


class Worker:
    """A `celery worker` process (prefork, one child), in its own process group."""

    def __init__(self, *queues, app="celery_app", cwd=HERE):
        self.output = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", app, "worker", "--concurrency=1", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "-Q", ",".join(queues or (QUEUE,)), "-n", f"{uuid.uuid4().hex}@test"],
            cwd=cwd,
            env={**os.environ, "LIVEOP_URL": URL},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(lambda: any(" ready." in line for line in self.output), 30, "the worker to be ready")

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def name(self):
        return next(line.split()[-2] for line in self.output if " ready." in line).rstrip(":")

    def kill(self):
        """SIGKILL to the whole group: the worker and its pool, mid-task, with no chance to ack or restore."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self.process.stdout.close()


class LiveopTaskTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.worker = Worker()

    @classmethod
    def tearDownClass(cls):
        cls.worker.kill()

    def setUp(self):
        self.reporter = Reporter(URL, KEY)

    def test_a_tracked_task_goes_pending_running_complete_with_its_result(self):
        waiting = f"{celery_app.PREFIX}waiting-{uuid.uuid4().hex[:6]}"
        started = enqueue(celery_app.import_rows, args=(50,), title="Import 50 rows", reporter=self.reporter, queue=waiting)
        self.assertTrue(started.watch_url.startswith(f"{URL}/watch/{started.session_id}?token="))
        self.assertEqual(started.async_result.id, started.async_result.task_id)
        stream = Stream(started.stream_url, started.viewer_token)
        wait_for(lambda: stream.statuses() == ["pending"], what="the first line, pending")
        # Only now may a worker take it: the page saw it queued first.
        celery_app.app.control.add_consumer(waiting, destination=[self.worker.name], reply=True)
        last = stream.ended()
        self.assertEqual(stream.statuses(), ["pending", "running", "complete"])
        task = last["tasks"][0]
        self.assertEqual((task["done"], task["total"], task["unit"]), (50, 50, "rows"))
        self.assertEqual(last["result"], {"rows": 50})

    def test_a_failing_task_ends_as_error_with_its_traceback_for_the_key_holder_only(self):
        started = enqueue(celery_app.fail, args=("bad row 7",), reporter=self.reporter)
        snapshot = ended(self.reporter, started.session_id)
        self.assertEqual((snapshot["status"], snapshot["error"]["message"]), ("error", "bad row 7"))
        self.assertIn("Traceback (most recent call last)", snapshot["errorDetail"])
        self.assertIn('raise ValueError(message)', snapshot["errorDetail"])
        viewer = Reporter(URL).session(started.session_id, started.viewer_token).snapshot()
        self.assertEqual(viewer["error"]["message"], "bad row 7")
        self.assertNotIn("errorDetail", viewer)

    def test_retried_twice_then_successful_shows_its_attempts(self):
        started = enqueue(celery_app.flaky, args=(2,), reporter=self.reporter)
        stream = Stream(started.stream_url, started.viewer_token)
        last = stream.ended()
        self.assertEqual(last["status"], "complete")
        self.assertEqual(last["result"], {"tries": 3})
        messages = [line["tasks"][0].get("message") for line in stream.lines if line.get("type") == "snapshot"]
        attempts = [line["tasks"][0].get("attempt") for line in stream.lines if line.get("type") == "snapshot"]
        self.assertEqual(last["tasks"][0]["attempt"], 3)
        self.assertIn(3, attempts)
        self.assertTrue(any(m and m.startswith("Retrying (3 of 3): supplier feed down") for m in messages), messages)

    def test_a_viewers_cancel_ends_it_cancelled_within_a_second_of_the_next_item(self):
        started = enqueue(celery_app.import_rows, args=(10_000, 0.05), reporter=self.reporter)
        wait_for(lambda: (self.reporter.read(started.session_id)["tasks"][0].get("done") or 0) >= 3, 15, "some rows")
        status, _ = post(f"{URL}/sessions/{started.session_id}/cancel", started.viewer_token)
        self.assertEqual(status, 202)
        asked = time.monotonic()
        snapshot = wait_for(
            lambda: (lambda snap: snap["status"] == "cancelled" and snap)(self.reporter.read(started.session_id)),
            5,
            "the session to be cancelled",
        )
        self.assertLess(time.monotonic() - asked, 0.05 + 1.0)
        self.assertLess(snapshot["tasks"][0]["done"], 10_000)
        self.assertNotIn("errorDetail", snapshot)

    def test_a_task_with_several_parts_reports_each_and_its_retry_to_the_one_running(self):
        tasks = {"read": "Read the file", "save": "Save the rows"}
        started = enqueue(celery_app.read_then_save, args=(30,), tasks=tasks, reporter=self.reporter)
        stream = Stream(started.stream_url, started.viewer_token)
        last = stream.ended()
        self.assertEqual(last["status"], "complete", last)
        self.assertEqual([(t["id"], t["done"]) for t in last["tasks"]], [("read", 30), ("save", 30)])
        retried = [
            t for line in stream.lines if line.get("type") == "snapshot" for t in line["tasks"] if t.get("attempt")
        ]
        self.assertEqual({t["id"] for t in retried}, {"read"})
        self.assertTrue(any((t.get("message") or "").startswith("Retrying (2 of 2)") for t in retried))

    def test_plain_delay_creates_a_session_too(self):
        listed = lambda: self.reporter.list_sessions(q="celery_app.fail", limit=100)["sessions"]  # noqa: E731
        before = {entry["id"] for entry in listed()}
        celery_app.fail.delay("failed after a plain delay()")
        new = wait_for(lambda: [entry for entry in listed() if entry["id"] not in before], 15, "a new session")
        snapshot = ended(self.reporter, new[0]["id"])
        self.assertEqual(snapshot["error"]["message"], "failed after a plain delay()")

    def test_a_revoked_running_task_ends_cancelled(self):
        started = enqueue(celery_app.import_rows, args=(10_000, 0.05), reporter=self.reporter)
        wait_for(lambda: self.reporter.read(started.session_id)["status"] == "running", 15, "the task to run")
        started.async_result.revoke(terminate=True, signal="SIGKILL")
        snapshot = ended(self.reporter, started.session_id)
        self.assertEqual(snapshot["status"], "cancelled")


class RedeliveryTest(unittest.TestCase):
    def test_a_worker_killed_mid_task_with_acks_late_reports_attempt_2_to_the_same_session(self):
        reporter = Reporter(URL, KEY)
        first = Worker()
        try:
            started = enqueue(celery_app.import_rows_late, args=(40, 0.05), reporter=reporter)
            wait_for(lambda: (reporter.read(started.session_id)["tasks"][0].get("done") or 0) >= 5, 15, "some rows")
        finally:
            first.kill()
        # The broker gives the message back once it has been unacknowledged past the visibility timeout.
        unacked = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        self.addCleanup(unacked.close)
        index = f"{celery_app.PREFIX}unacked_index"
        wait_for(lambda: all(time.time() - score > 2.5 for _, score in unacked.zrange(index, 0, -1, withscores=True)), 10,
                 "the message to be past its visibility timeout")
        second = Worker()
        try:
            snapshot = ended(reporter, started.session_id)
        finally:
            second.kill()
        self.assertEqual(snapshot["status"], "complete", snapshot)
        self.assertEqual(snapshot["tasks"][0]["attempt"], 2)
        self.assertEqual(snapshot["result"], {"rows": 40, "redelivered": True})


if __name__ == "__main__":
    unittest.main()
