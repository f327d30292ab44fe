"""The Django example tested in Django's own idiom (``SimpleTestCase`` and ``self.client``), run
five ways by flipping one setting.

``NotesTests`` runs with Django's own ``Client``, which calls the project directly. Each subclass
at the end changes nothing but ``client_class``: its requests then go through ALB's event, a
Lambda handler over the project as ``lambda_handler`` and ``lambda_handler_asgi`` build it
(``WSGIHandler`` or ``ASGIHandler``) and ALB's judgement of the answer, in single- or multi-value
header mode. The tests are the same for all five runs;
the last one shows a defect only the runs through a single-value target group catch.

The example has no database, hence ``SimpleTestCase``; for ``TestCase`` through ALB, see
``alb_adapter/testing/django.py``. Django's test environment (the ``testserver`` host, template
signals) is pytest-django's when it is installed, else set up here for this module, as Django's
own test runner sets it up.
"""

# Django ships no type hints: its names are Any here.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import django
from django.http import HttpRequest, JsonResponse
from django.test import SimpleTestCase, override_settings
from django.test.utils import setup_test_environment, teardown_test_environment
from django.urls import include, path, reverse
from django_example.views import SESSION_KEY

from alb_adapter.testing.django import ALBDjangoASGIClient, ALBDjangoClient

_OWN_TEST_ENVIRONMENT: list[bool] = []


def setUpModule() -> None:  # unittest's name for it, which pytest calls too
    django.setup()  # what importing a Lambda handler module does in the other test files
    try:
        setup_test_environment()
    except RuntimeError:  # already set up for the whole run (pytest-django)
        _OWN_TEST_ENVIRONMENT.append(False)
    else:
        _OWN_TEST_ENVIRONMENT.append(True)


def tearDownModule() -> None:
    if _OWN_TEST_ENVIRONMENT.pop():
        teardown_test_environment()


def notes_with_words(request: HttpRequest) -> JsonResponse:
    """A search this test module adds to the example: the notes holding any of the ``word``
    parameters (``?word=tea&word=milk``), as a filter form with checkboxes sends them."""
    words = request.GET.getlist("word")
    notes = [note for note in request.session.get(SESSION_KEY, []) if any(w in note for w in words)]
    return JsonResponse({"words": words, "notes": notes})


urlpatterns = [
    path("", include("django_example.urls")),
    path("api/notes/search", notes_with_words),
]


@override_settings(ROOT_URLCONF=__name__)
class NotesTests(SimpleTestCase):  # type: ignore[misc]  # Django has no types
    """The example's pages, as its own test suite would test them."""

    def how(self) -> str:
        """How this run reaches the project: "direct", or through ALB in one header mode."""
        if not isinstance(self.client, ALBDjangoClient | ALBDjangoASGIClient):
            return "direct"
        return "alb-multi-value" if self.client.multi_value_headers else "alb-single-value"

    def add_note(self, text: str) -> None:
        response = self.client.post(reverse("notes"), {"text": text})
        self.assertRedirects(response, reverse("notes"), status_code=303)

    def test_the_home_page_links_to_the_notes(self) -> None:
        response = self.client.get(reverse("home"))

        self.assertContains(response, '<a href="/notes/">Notes</a>', html=True, count=2)
        self.assertTemplateUsed(response, "django_example/home.html")
        assert response.resolver_match.url_name == "home"

    def test_a_note_is_saved_and_shown_after_the_redirect(self) -> None:
        response = self.client.post(reverse("notes"), {"text": "Ship <it>"}, follow=True)

        self.assertRedirects(response, reverse("notes"), status_code=303)
        self.assertContains(response, "<li>Ship &lt;it&gt;</li>", html=True)
        self.assertContains(response, '<ul class="messages"><li>Note saved.</li></ul>', html=True)
        assert response.context["notes"] == ["Ship <it>"]

    def test_the_notes_travel_in_the_session_cookie(self) -> None:
        self.add_note("first")
        self.add_note("second")

        assert sorted(self.client.cookies) == ["csrftoken", "sessionid"]
        response = self.client.get(reverse("api-notes"))
        assert response.json() == {"notes": ["first", "second"]}
        assert response.wsgi_request.session[SESSION_KEY] == ["first", "second"]

    def test_a_blank_note_is_shown_again_with_the_error(self) -> None:
        response = self.client.post(reverse("notes"), {"text": "   "})

        assert response.status_code == 200
        self.assertFormError(response.context["form"], "text", "This field is required.")
        assert "sessionid" not in self.client.cookies

    def test_a_client_that_enforces_csrf_checks_is_refused_without_the_token(self) -> None:
        client = self.client_class(enforce_csrf_checks=True)

        response = client.post(reverse("notes"), {"text": "hi"})

        self.assertContains(response, "CSRF verification failed.", status_code=403)

    def test_an_unknown_page_is_the_examples_404(self) -> None:
        response = self.client.get("/no/such/page")

        self.assertContains(response, "<h1>Not Found</h1>", status_code=404, html=True)
        self.assertTemplateUsed(response, "404.html")

    def test_what_django_sees_of_the_request(self) -> None:
        response = self.client.get(reverse("api-request"))

        # ALB appends the client's address to X-Forwarded-For; a direct call has no ALB.
        forwarded_for = "" if self.how() == "direct" else "127.0.0.1"
        assert response.json() == {
            "remote_addr": "127.0.0.1",
            "x_forwarded_for": forwarded_for,
            "is_secure": False,
            "scheme": "http",
            "host": "testserver",
            "absolute_uri": "http://testserver/api/request",
            "script_name": "",
            "path_info": "/api/request",
            "path": "/api/request",
        }

    def test_a_search_for_two_words_fails_behind_a_single_value_target_group(self) -> None:
        """The defect: the search reads every ``word`` parameter, and Django's own client sends
        them all. A target group in single-value mode (the default) gives the function only the
        last value of a repeated query key, so behind ALB the search quietly drops ``tea``.
        The runs through ALB in single-value mode catch it; the fix is the target group's
        ``lambda.multi_value_headers.enabled``, which the multi-value runs show working."""
        self.add_note("green tea")
        self.add_note("oat milk")

        response = self.client.get("/api/notes/search?word=tea&word=milk")

        if self.how() == "alb-single-value":
            assert response.json() == {"words": ["milk"], "notes": ["oat milk"]}
        else:
            assert response.json() == {
                "words": ["tea", "milk"],
                "notes": ["green tea", "oat milk"],
            }


class NotesThroughALB(NotesTests):
    client_class = ALBDjangoClient


class NotesThroughALBMultiValue(NotesTests):
    client_class = ALBDjangoClient.with_defaults(multi_value_headers=True)


class NotesThroughALBOverASGI(NotesTests):
    client_class = ALBDjangoASGIClient


class NotesThroughALBOverASGIMultiValue(NotesTests):
    client_class = ALBDjangoASGIClient.with_defaults(multi_value_headers=True)
