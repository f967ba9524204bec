"""Every snippet of docs/python.md, run as it is written: files where a snippet names one, scripts in order.

A block whose first line names a file (``# imports/tasks.py``, ``<!-- templates/x.html -->``) is written
there in a scratch project, beside the stand-ins a reader has of their own (``imports/storage.py``,
``celeryconfig.py``); the other blocks run in order in one namespace, with ``load_rows``, ``check`` and
``save`` given. A block this file does not run fails the test.
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

from liveop import Reporter

import celery_app
from support import KEY, URL, ended, require_server
from test_celery import Worker

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "docs", "python.md")
FILE_MARK = re.compile(r"^(?:# |<!-- )([\w./-]+\.(?:py|html))(?: -->)?$")
PROJECT = tempfile.mkdtemp(prefix="liveop-docs-")
SCRIPTS = []
FILES = {}


def setUpModule():
    require_server()
    with open(DOCS, encoding="utf-8") as docs:
        text = docs.read()
    for language, body in re.findall(r"^```(python|html)\n(.*?)^```$", text, flags=re.S | re.M):
        mark = FILE_MARK.match(body.split("\n", 1)[0])
        if mark:
            FILES[mark.group(1)] = body
        else:
            SCRIPTS.append(body)
    for path, body in FILES.items():
        write(path, body)
    write("imports/__init__.py", "")
    write("imports/storage.py", 'def read_rows(path):\n    return [f"{path}:{i}" for i in range(30)]\n\n\ndef save(row):\n    pass\n')
    # The reader's broker settings: here the shared Redis, under this run's key prefix and queue.
    write(
        "celeryconfig.py",
        f"broker_url = {celery_app.app.conf.broker_url!r}\n"
        f"broker_transport_options = {{'global_keyprefix': {celery_app.PREFIX!r}}}\n"
        f"task_default_queue = {celery_app.PREFIX + 'docs'!r}\n"
        "task_ignore_result = True\n",
    )
    sys.path.insert(0, PROJECT)


def tearDownModule():
    celery_app.delete_keys()
    shutil.rmtree(PROJECT, ignore_errors=True)


def write(path, body):
    os.makedirs(os.path.dirname(os.path.join(PROJECT, path)), exist_ok=True)
    with open(os.path.join(PROJECT, path), "w", encoding="utf-8") as file:
        file.write(body)


class DocsTest(unittest.TestCase):
    namespace = {"load_rows": lambda: list(range(40)), "check": lambda row: row, "save": lambda row: None}

    def test_runs_every_block(self):
        self.assertEqual(sorted(FILES), ["imports/tasks.py", "imports/views.py", "settings.py", "templates/imports/dashboard.html", "urls.py"])
        self.assertEqual(len(SCRIPTS), 5)  # the reporter, enqueue, the key holder, a batch, asyncio: each run below

    def run_script(self, index):
        exec(compile(SCRIPTS[index], f"docs/python.md script {index + 1}", "exec"), self.namespace)

    def test_1_the_reporter_snippet_completes_its_session_with_the_result(self):
        self.run_script(0)
        s = self.namespace["s"]
        snapshot = ended(Reporter(URL, KEY), s.id)
        self.assertEqual(snapshot["status"], "complete")
        self.assertEqual(snapshot["result"], {"imported": 40})
        self.assertEqual([stage["state"] for stage in snapshot["stages"]], ["done", "done"])
        self.assertEqual((snapshot["tasks"][0]["done"], snapshot["tasks"][0]["unit"]), (40, "rows"))

    def test_2_the_celery_snippets_run_on_a_worker_and_the_key_holder_snippet_ends_one(self):
        self.run_script(1)  # enqueue(): the session waits, as no worker runs yet
        started = self.namespace["started"]
        reporter = Reporter(URL, KEY)
        self.assertEqual(reporter.read(started.session_id)["status"], "pending")
        self.run_script(2)  # the key holder lists, reads, mints, cancels and deletes it
        self.assertEqual([entry["id"] for entry in self.namespace["page"]["sessions"]][:1], [started.session_id])
        self.assertEqual(self.namespace["snapshot"]["subject"], "user:17")

        from imports.tasks import import_rows
        from liveop.celery import enqueue

        again = enqueue(import_rows, args=["catalogue.csv"], title="Import catalogue")
        worker = Worker(celery_app.PREFIX + "docs", app="imports.tasks", cwd=PROJECT)
        try:
            snapshot = ended(reporter, again.session_id)
        finally:
            worker.kill()
        self.assertEqual((snapshot["status"], snapshot["result"]), ("complete", {"rows": 30}))
        self.assertEqual([stage["state"] for stage in snapshot["stages"]], ["done", "done"])

    def test_3_the_asyncio_snippet_reports_from_async_code(self):
        self.run_script(4)
        snapshot = ended(Reporter(URL, KEY), self.namespace["session"].id)
        self.assertEqual((snapshot["status"], snapshot["tasks"][0]["done"]), ("complete", 20))

    def test_5_the_batch_snippet_makes_a_parent_that_ends_with_its_three_children(self):
        self.run_script(3)
        batch = self.namespace["batch"]
        self.assertEqual(len(self.namespace["children"]), 3)
        self.assertIn(batch.id, [entry["id"] for entry in self.namespace["batches"]])
        self.assertNotIn(self.namespace["child"].id, [entry["id"] for entry in self.namespace["batches"]])
        snapshot = ended(Reporter(URL, KEY), batch.id)
        self.assertEqual((snapshot["status"], snapshot["children"]["complete"]), ("complete", 3))

    def test_4_the_django_snippets_start_an_operation_and_show_it(self):
        import django
        from django.conf import settings

        site = {}
        exec(compile(FILES["settings.py"], "docs/python.md settings.py", "exec"), site)
        settings.configure(
            **{name: value for name, value in site.items() if name.isupper()},
            SECRET_KEY="docs-tests-only",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="urls",
            MIDDLEWARE=[
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            TEMPLATES=[
                {
                    "BACKEND": "django.template.backends.django.DjangoTemplates",
                    "DIRS": [os.path.join(PROJECT, "templates")],
                    "APP_DIRS": True,
                }
            ],
        )
        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.template.loader import render_to_string
        from django.test import Client

        call_command("migrate", verbosity=0)
        client = Client()
        client.force_login(User.objects.create(username="ann"))
        answer = client.post("/imports/start", {"path": "catalogue.csv"})
        self.assertEqual(answer.status_code, 302)
        session_id = answer["Location"].split("/")[2]
        page = client.get(answer["Location"]).content.decode()
        self.assertIn(f'<live-operation src="https://progress.example.com/sessions/{session_id}/stream"', page)
        html = render_to_string("imports/dashboard.html", {"started": session_id})
        self.assertIn('<live-operation-list src="/operations/sessions" actions=""></live-operation-list>', html)
        self.assertIn(" cancelable log-open></live-operation>", html)
        self.assertEqual(html.count("<script"), 1)  # the list's script brings both elements
        feed = client.get("/operations/sessions").json()
        self.assertEqual([entry["id"] for entry in feed["sessions"]], [session_id])


if __name__ == "__main__":
    unittest.main()
