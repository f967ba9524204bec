"""For the browser test: a Django site serving its operation page, then the work that page shows.

Serves ``django_site`` on 127.0.0.1:$SITE_PORT (wsgiref, a file database the
server's thread shares) with a signed-in user and a session created for them,
and prints ``{"url", "session_id", "cookie"}`` as one line; then waits for a
line on stdin and reports 20 rows and the end, as a worker would.
"""

import json
import os
import sys
import tempfile
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django_site


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    url, key, port = os.environ["LIVEOP_URL"], os.environ["LIVEOP_API_KEY"], int(os.environ["SITE_PORT"])
    with tempfile.TemporaryDirectory() as scratch:
        django_site.configure(url, key, database=os.path.join(scratch, "site.sqlite3"))
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.core.wsgi import get_wsgi_application
        from django.test import Client

        from liveop import Reporter

        call_command("migrate", verbosity=0)
        user = User.objects.create(username="ann")
        session = Reporter(url, key).create_session("Import 20 rows", {"rows": "Rows"}, subject=str(user.pk))
        client = Client()
        client.force_login(user)
        site = make_server("127.0.0.1", port, get_wsgi_application(), handler_class=QuietHandler)
        threading.Thread(target=site.serve_forever, daemon=True).start()
        page = f"http://127.0.0.1:{port}/operations/{session.id}/"
        print(json.dumps({"url": page, "session_id": session.id, "cookie": client.cookies["sessionid"].value}), flush=True)
        sys.stdin.readline()
        with session:
            for _ in session.track(range(20), unit="rows"):
                time.sleep(0.05)  # the work
            session.result({"rows": 20})
        sys.stdin.readline()  # serves the page until the test is done with it
        site.shutdown()


if __name__ == "__main__":
    main()
