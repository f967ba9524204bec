"""The chaos run's Python reporter: liveop.Reporter through the proxy until a
deadline, one session after another, printing (one JSON line each) what the
server acknowledged, for test/chaos/reporters.ts to record.
Usage: python-reporter.py BASE_URL UNTIL_EPOCH_SECONDS SEED"""

import json
import random
import sys
import time

from liveop import LiveopError, Reporter


def note(**fields):
    print(json.dumps(fields), flush=True)


def main():
    base_url, until = sys.argv[1], float(sys.argv[2])
    random.seed(int(sys.argv[3]))
    reporter = Reporter(base_url, timeout=5.0, retry_attempts=30, retry_backoff=0.1, retry_max_delay=2.0, flush_interval=0.1)
    n = 0
    while time.time() < until:
        n += 1
        try:
            session = reporter.create_session(f"python #{n}", tasks={"work": "Work"})
        except LiveopError:
            time.sleep(0.2)
            continue
        note(event="created", id=session.id, viewerToken=session.viewer_token)
        total = random.randint(30, 100)
        pending = []
        for i in range(1, total + 1):
            text = f"python.{n} line {i}"
            session.log(text)
            pending.append(text)
            if i % 7 == 0 or i == total:
                try:
                    session.flush()
                    note(event="acked", id=session.id, lines=pending)
                except LiveopError:
                    note(event="unknown", id=session.id, lines=pending)
                pending = []
            time.sleep(random.uniform(0.01, 0.06))
        session.complete("work")
        try:
            session.close()
            note(event="completed", id=session.id, acked=True)
        except LiveopError:
            note(event="completed", id=session.id, acked=False)


if __name__ == "__main__":
    main()
