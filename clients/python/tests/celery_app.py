"""The Celery app the Celery tests' worker runs: tasks on LiveopTask, a broker on the shared Redis under a prefix of its own."""

import os
import time
import uuid

import redis
from celery import Celery

from liveop.celery import LiveopTask

# Set by the test module that starts workers (they inherit it); a fresh one otherwise.
PREFIX = os.environ.setdefault("LIVEOP_TEST_CELERY_PREFIX", f"liveop-test-{uuid.uuid4().hex[:12]}:")

app = Celery("liveop_tests", broker=os.environ.get("LIVEOP_TEST_REDIS", "redis://127.0.0.1:6379/0"))
app.conf.update(
    # Every key this app writes starts with the prefix: the Redis is shared, and never flushed.
    broker_transport_options={"global_keyprefix": PREFIX, "visibility_timeout": 2},
    task_default_queue=f"{PREFIX}default",
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
)


def delete_keys():
    """Deletes this run's keys (only those: the Redis is shared)."""
    broker = redis.Redis.from_url(app.conf.broker_url)
    try:
        for key in broker.scan_iter(match=f"{PREFIX}*", count=500):
            broker.delete(key)
    finally:
        broker.close()


@app.task(base=LiveopTask, bind=True)
def import_rows(self, count, seconds_per_row=0.01):
    for _ in self.progress.track(range(count), unit="rows"):
        time.sleep(seconds_per_row)  # the work
    return {"rows": count}


@app.task(base=LiveopTask, bind=True)
def fail(self, message):
    raise ValueError(message)


@app.task(base=LiveopTask, bind=True, max_retries=2)
def flaky(self, failures):
    if self.request.retries < failures:
        raise self.retry(exc=ConnectionError(f"supplier feed down (try {self.request.retries + 1})"), countdown=0)
    # The work of the try that succeeds takes a moment: its viewers see "Retrying (3 of 3)" until it ends
    # (a completed task shows no message of its own, so a try that ended at once would show none).
    time.sleep(0.5)
    return {"tries": self.request.retries + 1}


@app.task(base=LiveopTask, bind=True, max_retries=1)
def read_then_save(self, count):
    if self.request.retries:
        time.sleep(0.5)  # the second try's work takes a moment: viewers see its "Retrying" message meanwhile
    for _ in self.progress.track(range(count), task="read"):
        pass
    if not self.request.retries:
        raise self.retry(exc=TimeoutError("the disk was slow"), countdown=0)
    for _ in self.progress.track(range(count), unit="rows", task="save"):
        pass
    return {"saved": count}


@app.task(base=LiveopTask, bind=True, acks_late=True)
def import_rows_late(self, count, seconds_per_row):
    for _ in self.progress.track(range(count), unit="rows"):
        time.sleep(seconds_per_row)  # the work
    return {"rows": count, "redelivered": bool(self.request.delivery_info.get("redelivered"))}
