"""liveop.django on Django 3.2: the template tags, the operation page and the list's feed, against the real server."""

import json
import re
import unittest
import urllib.request

from support import KEY, URL, require_server

import django_site

PUBLIC = "https://progress.example.test"


def setUpModule():
    require_server()
    django_site.configure(URL, KEY, PUBLIC)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def tearDownModule():
    import celery_app

    celery_app.delete_keys()


def widget(which):
    with urllib.request.urlopen(f"{URL}/{which}.json", timeout=5) as answer:
        return json.loads(answer.read())


class TemplateTagTest(unittest.TestCase):
    def render(self, text, **context):
        from django.template import Context, Template

        return Template("{% load liveop %}" + text).render(Context(context))

    def test_renders_the_element_and_its_script_with_integrity_once_per_page(self):
        from liveop.django.settings import reporter

        started = reporter().create_session("Tagged", viewer_scope="view+cancel")
        html = self.render("{% live_operation s %}{% live_operation s log_open=True %}", s=started)
        described = widget("widget")
        script = f'<script type="module" src="{PUBLIC}{described["url"][len(URL):]}" integrity="{described["integrity"]}" crossorigin="anonymous"></script>'
        self.assertEqual(html.count("<script"), 1)
        self.assertTrue(html.startswith(script), html)
        element = f'<live-operation src="{PUBLIC}/sessions/{started.id}/stream" token="{started.viewer_token}" cancelable></live-operation>'
        self.assertIn(element, html)
        self.assertIn(" cancelable log-open></live-operation>", html)

    def test_mints_a_fresh_token_for_a_session_id(self):
        from liveop.django.settings import reporter

        started = reporter().create_session("By id")
        html = self.render("{% live_operation id cancelable=False %}", id=started.id)
        token = re.search(r'token="([^"]+)"', html).group(1)
        self.assertNotEqual(token, started.viewer_token)
        self.assertNotIn("cancelable", html)
        request = urllib.request.Request(f"{URL}/sessions/{started.id}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            self.assertEqual(json.loads(answer.read())["id"], started.id)

    def test_escapes_what_it_is_given(self):
        class Started:
            session_id = "x"
            stream_url = f'{URL}/sessions/x/stream"><script>alert(1)</script>'
            viewer_token = "t"

        html = self.render("{% live_operation s %}", s=Started())
        self.assertNotIn("<script>alert", html)
        self.assertIn("&quot;&gt;&lt;script&gt;", html)


class ViewsTest(unittest.TestCase):
    def setUp(self):
        from django.contrib.auth.models import User
        from django.test import Client

        self.ann, _ = User.objects.get_or_create(username="ann")
        self.bob, _ = User.objects.get_or_create(username="bob")
        self.client = Client()
        self.client.force_login(self.ann)

    def test_start_operation_queues_the_task_for_the_user_and_redirects_to_its_page(self):
        answer = self.client.post("/imports/start", {"rows": "5"})
        self.assertEqual(answer.status_code, 302)
        session_id = re.fullmatch(r"/operations/([A-Za-z0-9_-]+)/", answer["Location"]).group(1)
        from liveop.django.settings import reporter

        snapshot = reporter().read(session_id)
        self.assertEqual((snapshot["title"], snapshot["status"]), ("Import", "pending"))
        self.assertEqual(snapshot["subject"], str(self.ann.pk))

        page = self.client.get(answer["Location"])
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        self.assertIn(f'<live-operation src="{PUBLIC}/sessions/{session_id}/stream" token="', html)
        self.assertIn(f'integrity="{widget("widget")["integrity"]}"', html)
        self.assertIn("<title>Import</title>", html)

        other = self.client_for(self.bob)
        self.assertEqual(other.get(answer["Location"]).status_code, 404)
        self.assertEqual(other.get("/operations/no-such-session/").status_code, 404)

    def test_the_list_feed_is_the_users_own_operations_with_public_stream_urls(self):
        mine = [self.client.post("/imports/start", {"rows": "1"})["Location"].split("/")[2] for _ in range(2)]
        theirs = self.client_for(self.bob).post("/imports/start", {"rows": "1"})["Location"].split("/")[2]
        feed = self.client.get("/operations/sessions?limit=50").json()
        ids = [entry["id"] for entry in feed["sessions"]]
        self.assertEqual(ids[:2], mine[::-1])
        self.assertNotIn(theirs, ids)
        self.assertTrue(all(entry["streamUrl"].startswith(f"{PUBLIC}/sessions/") for entry in feed["sessions"]))
        refused = self.client.get("/operations/sessions?status=finished")
        self.assertEqual(refused.status_code, 400)
        self.assertIn("status", refused.json()["error"]["message"])
        self.assertEqual(self.client_for(None).get("/operations/sessions").status_code, 302)  # to the login page

    def test_the_list_tag_renders_the_list_element_fed_by_the_app(self):
        from django.template import Context, Template

        html = Template("{% load liveop %}{% live_operation_list %}").render(Context({}))
        described = widget("widget-list")
        self.assertIn(f'integrity="{described["integrity"]}"', html)
        self.assertTrue(html.endswith('<live-operation-list src="/operations/sessions" actions=""></live-operation-list>'), html)

    def client_for(self, user):
        from django.test import Client

        client = Client()
        if user is not None:
            client.force_login(user)
        return client


if __name__ == "__main__":
    unittest.main()
