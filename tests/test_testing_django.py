"""alb_adapter.testing.django: Django's own test client with every request sent through ALB.

Each behaviour runs through both clients (``ALBDjangoClient``: WSGIHandler, ``ALBDjangoASGIClient``:
ASGIHandler) in both header modes, and is checked against what the request really went through
(the event ALB built is in the request the view saw) and, where Django's own ``Client`` is the
oracle (statuses, bodies, templates, re-raised exceptions), against that client. The tests near
the end are the failures only the ALB path catches; the last part measures, with SQLite, what
the views see of a ``TestCase``'s transaction through each client.

Django reads its settings once per process. This module brings its own views and overrides every
setting they depend on, so it runs under whatever settings the process has (the Django example's,
when pytest runs the whole repository) or, alone, under minimal ones it configures. The database
measurements need other settings (SQLite, django.contrib.auth), so they run in a fresh
interpreter: ``python -m tests.test_testing_django memory|file OUTPUT``.
"""

# Django ships no type hints: its names are Any here (alb_adapter/testing/django.py says why).
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import threading
import unittest
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import ENVIRONMENT_VARIABLE, settings
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import WSGIRequest
from django.core.wsgi import get_wsgi_application
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.test import Client, SimpleTestCase, override_settings
from django.test.utils import setup_test_environment, teardown_test_environment
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.errors import AppError
from alb_adapter.testing import django as alb_django
from alb_adapter.testing import make_event
from alb_adapter.testing.django import ALBDjangoASGIClient, ALBDjangoClient
from tests.support import SECRET, logged_above_debug, simple_app

ALBClient = ALBDjangoClient | ALBDjangoASGIClient
CLIENTS: dict[str, type[ALBClient]] = {"wsgi": ALBDjangoClient, "asgi": ALBDjangoASGIClient}
ROOT = Path(__file__).resolve().parent.parent

JSON = ("content-type", "application/json")
TEXT = ("content-type", "text/plain")
HTML = ("content-type", "text/html; charset=utf-8")
VARY = ("vary", "Cookie")
ONE_MEGABYTE_AND_MORE = 1_100_000
SERVER_ERROR = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
    b"</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)


# --------------------------------------------------------------------------- the project

SEEN: list[HttpRequest] = []  # every request a view got, in order


def echo(request: HttpRequest) -> JsonResponse:
    """What the view saw of the request, and of the event ALB built for it."""
    SEEN.append(request)
    scope = getattr(request, "scope", {})  # ASGI: the event is in the scope, not in META
    event = request.META.get("aws.event") or scope.get("aws.event") or {}
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "script_name": request.META.get("SCRIPT_NAME", ""),
            "path_info": request.path_info,
            "query": request.META.get("QUERY_STRING", ""),
            "q": request.GET.get("q"),
            "body": request.body.decode(),
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "forwarded_for": request.headers.get("X-Forwarded-For"),
            "user_agent": request.headers.get("User-Agent"),
            "host": request.get_host(),
            "scheme": request.scheme,
            "user": request.session.get("user"),
            "event_header_field": "multiValueHeaders"
            if "multiValueHeaders" in event
            else "headers",
            "link": request.build_absolute_uri(reverse("echo")),
        }
    )


def login(request: HttpRequest) -> HttpResponse:
    request.session["user"] = request.POST["user"]
    response = HttpResponseRedirect(reverse("echo"))
    response.set_cookie("theme", request.POST.get("theme", "light"))
    return response


def page(request: HttpRequest) -> HttpResponse:
    return render(request, "page.html", {"name": "Ada"})


def form(request: HttpRequest) -> HttpResponse:
    """CSRF-protected (CsrfViewMiddleware): GET gives the token, POST needs it back."""
    if request.method == "POST":
        return HttpResponse(f"posted {request.POST['text']}", content_type="text/plain")
    return HttpResponse(get_token(request), content_type="text/plain")


def boom(request: HttpRequest) -> HttpResponse:
    raise ZeroDivisionError("the view divided by zero")


def thread(request: HttpRequest) -> HttpResponse:
    return HttpResponse(threading.current_thread().name, content_type="text/plain")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """Chunks as each handler kind wants them (Django warns about the other kind)."""
    chunks = ["first\n", "second\n"]
    if isinstance(request, ASGIRequest):
        return StreamingHttpResponse(_async_iter(chunks), content_type="text/plain")
    return StreamingHttpResponse(iter(chunks), content_type="text/plain")


async def _async_iter(chunks: list[str]) -> AsyncIterator[str]:
    for chunk in chunks:
        yield chunk


def three_cookies(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"cookies": 3})
    for name in ("a", "b", "c"):
        response.set_cookie(name, name.upper())
    return response


def report(request: HttpRequest) -> HttpResponse:
    return HttpResponse("x" * ONE_MEGABYTE_AND_MORE, content_type="text/plain")


def items(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": ["tea"], "link": reverse("items")})


def items_by_hand(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/items")  # the defect: a path written by hand ignores the prefix


def items_by_reverse(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("items"))


def list_or_create_users(request: HttpRequest) -> JsonResponse:
    """The database views (run only by the measurements, which install django.contrib.auth)."""
    from django.contrib.auth.models import User

    if request.method == "POST":
        User.objects.create(username=request.POST["name"])
        return JsonResponse({"created": request.POST["name"]}, status=201)
    return JsonResponse({"users": sorted(User.objects.values_list("username", flat=True))})


users = csrf_exempt(list_or_create_users)  # the ready-made handlers enforce CSRF


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username() or None})


urlpatterns = [
    path("echo", echo, name="echo"),
    path("login", login),
    path("page", page),
    path("form", form),
    path("boom", boom),
    path("thread", thread),
    path("stream", stream),
    path("three-cookies", three_cookies),
    path("report", report),
    path("items", items, name="items"),
    path("items-by-hand", items_by_hand),
    path("items-by-reverse", items_by_reverse),
    path("users", users),
    path("whoami", whoami),
]

# Every setting the views depend on, whatever the process's settings are.
PROJECT_SETTINGS: dict[str, Any] = {
    "ROOT_URLCONF": __name__,
    "ALLOWED_HOSTS": ["testserver"],
    "DEBUG": False,
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_PATH": "/",
    "CSRF_COOKIE_SECURE": False,
    "CSRF_COOKIE_PATH": "/",
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"page.html": "<p>Hello {{ name }}</p>\n"},
                    )
                ]
            },
        }
    ],
}


@pytest.fixture(scope="module", autouse=True)
def django_project() -> Iterator[None]:
    """Django set up for this module: the process's settings if it has some (the example's,
    set by its conftest at collection, when pytest runs the whole repository), else minimal
    ones; Django's test environment (template signals, the ``testserver`` host) unless
    pytest-django already set it up; this module's settings on top."""
    if not os.environ.get(ENVIRONMENT_VARIABLE) and not settings.configured:
        settings.configure(SECRET_KEY="test-only-" + "k" * 40)
    django.setup()
    try:
        setup_test_environment()
    except RuntimeError:  # already done for the session (pytest-django)
        ours = False
    else:
        ours = True
    overrides = override_settings(**PROJECT_SETTINGS)
    overrides.enable()
    yield
    overrides.disable()
    if ours:
        teardown_test_environment()


@pytest.fixture(params=["wsgi", "asgi"])
def kind(request: pytest.FixtureRequest) -> str:
    """Both ways to serve Django: WSGIHandler and ASGIHandler."""
    value: str = request.param
    return value


@pytest.fixture
def client(kind: str, multi: bool) -> Iterator[ALBClient]:
    """pytest-django's ``client`` fixture, overridden as a project's conftest would: every test
    asking for ``client`` gets one through ALB (here, in each handler kind and header mode)."""
    client = CLIENTS[kind](multi_value_headers=multi)
    yield client
    client.close()


def headers_of(response: HttpResponse) -> list[tuple[str, str]]:
    return list(response.headers.items())


def cookies_of(response: HttpResponse) -> dict[str, str]:
    return {name: morsel.OutputString() for name, morsel in response.cookies.items()}


def masked(cookie: str) -> str:
    """A Set-Cookie with its time-dependent parts (signed value, expiry date) masked."""
    name = cookie.partition("=")[0]
    attributes = [
        "expires=…" if part.startswith("expires=") else part for part in cookie.split("; ")[1:]
    ]
    return "; ".join([f"{name}=…", *attributes])


# --------------------------------------------------------------------------- the one setting


def test_every_request_goes_through_alb(client: ALBClient, multi: bool) -> None:
    response = client.post("/echo?q=a+b%2B", data=b"hello", content_type="text/plain")

    assert response.status_code == 200
    assert headers_of(response) == [JSON, VARY, ("content-length", str(len(response.content)))]
    assert response.json() == {
        "method": "POST",
        "path": "/echo",
        "script_name": "",
        "path_info": "/echo",
        "query": "q=a+b%2B",
        "q": "a b+",
        "body": "hello",
        "remote_addr": "127.0.0.1",  # Django's client's REMOTE_ADDR, appended by ALB
        "forwarded_for": "127.0.0.1",
        "user_agent": None,
        "host": "testserver",
        "scheme": "http",
        "user": None,
        "event_header_field": "multiValueHeaders" if multi else "headers",
        "link": "http://testserver/echo",
    }
    assert response.cookies == {}


def test_a_secure_request_is_https_behind_alb(client: ALBClient) -> None:
    body = client.get("/echo", secure=True).json()

    assert (body["scheme"], body["link"]) == ("https", "https://testserver/echo")


def test_a_repeated_query_key_keeps_only_its_last_value_in_single_value_mode(
    client: ALBClient, multi: bool
) -> None:
    """ALB's single-value mode (the target group default) passes one value per query key."""
    SEEN.clear()
    client.get("/echo?q=tea&q=milk")

    assert SEEN[-1].GET.getlist("q") == (["tea", "milk"] if multi else ["milk"])


def test_the_oracle_djangos_own_client_gives_the_same_body() -> None:
    direct = Client().post("/echo?q=a+b%2B", data=b"hello", content_type="text/plain")
    through_alb = ALBDjangoClient().post("/echo?q=a+b%2B", data=b"hello", content_type="text/plain")

    assert direct.json() == {**through_alb.json(), "forwarded_for": None}
    assert direct.status_code == through_alb.status_code == 200


def test_pytest_djangos_client_fixture_is_the_one_overridden(
    client: ALBClient, kind: str, multi: bool
) -> None:
    assert type(client) is CLIENTS[kind]
    assert client.multi_value_headers is multi
    mode = "multi-value" if multi else "single-value"
    handler = (
        "WSGIHandler(get_wsgi_application())"
        if kind == "wsgi"
        else "ASGIHandler(get_asgi_application())"
    )
    assert repr(client) == f"<{CLIENTS[kind].__name__} through ALB to {handler}, {mode} headers>"


def test_with_defaults_makes_the_class_for_client_class(kind: str) -> None:
    shop = CLIENTS[kind].with_defaults(multi_value_headers=True, base_path="/shop")

    assert shop.__name__ == CLIENTS[kind].__name__
    assert issubclass(shop, CLIENTS[kind])
    built = shop()  # as TestCase builds it: no arguments
    assert built.multi_value_headers is True
    assert built.get("/shop/items").json() == {"items": ["tea"], "link": "/shop/items"}
    # Options given to a client override the class's defaults.
    assert shop(multi_value_headers=False).multi_value_headers is False
    built.close()


def test_a_subclass_sets_its_defaults_as_a_class_attribute() -> None:
    class ShopClient(ALBDjangoClient):
        default_options = {"base_path": "/shop", "multi_value_headers": True}  # noqa: RUF012

    client = ShopClient()

    assert client.multi_value_headers is True
    assert client.get("/shop/items").json() == {"items": ["tea"], "link": "/shop/items"}


def test_djangos_own_arguments_are_still_djangos(kind: str) -> None:
    """Upper-case keywords are environ defaults, and headers= and query_params= are Django's."""
    client = CLIENTS[kind](
        HTTP_USER_AGENT="robot/1.0",
        multi_value_headers=True,
        headers={"X-Forwarded-For": "6.6.6.6"},
        query_params={"q": "coffee"},
    )

    body = client.get("/echo", query_params={"q": "tea"}).json()

    assert (body["user_agent"], body["q"]) == ("robot/1.0", "tea")
    assert (body["forwarded_for"], body["remote_addr"]) == ("6.6.6.6, 127.0.0.1", "127.0.0.1")
    assert client.defaults["QUERY_STRING"] == "q=coffee"  # Django keeps it, as its client does
    client.close()


# --------------------------------------------------------------------------- Django's idiom


class EchoTests(SimpleTestCase):  # type: ignore[misc]  # Django has no types
    """Tests in Django's own idiom. Run as they are, with Django's ``Client``; the subclasses
    below change nothing but ``client_class``."""

    def test_login_sets_both_cookies_and_redirects(self) -> None:
        response = self.client.post("/login", {"user": "ada", "theme": "dark"})

        self.assertRedirects(response, "/echo")
        assert sorted(self.client.cookies) == ["sessionid", "theme"]
        assert self.client.cookies["theme"].value == "dark"
        assert self.client.get("/echo").json()["user"] == "ada"

    def test_follow_gives_the_redirect_chain(self) -> None:
        response = self.client.post("/login", {"user": "ada"}, follow=True)

        assert response.redirect_chain == [("/echo", 302)]
        self.assertContains(response, '"user": "ada"')

    def test_templates_and_context(self) -> None:
        response = self.client.get("/page")

        self.assertContains(response, "<p>Hello Ada</p>", html=True)
        self.assertTemplateUsed(response, "page.html")
        assert response.context["name"] == "Ada"

    def test_resolver_match_and_json(self) -> None:
        response = self.client.get("/items")

        assert response.resolver_match.url_name == "items"
        assert response.json() == {"items": ["tea"], "link": "/items"}

    def test_a_views_exception_reaches_the_test(self) -> None:
        with self.assertRaisesMessage(ZeroDivisionError, "the view divided by zero"):
            self.client.get("/boom")

    def test_csrf_checks_are_relaxed_as_djangos_client_relaxes_them(self) -> None:
        response = self.client.post("/form", {"text": "hi"})

        self.assertContains(response, "posted hi")


class EchoTestsThroughALB(EchoTests):
    client_class = ALBDjangoClient


class EchoTestsThroughALBMultiValue(EchoTests):
    client_class = ALBDjangoClient.with_defaults(multi_value_headers=True)


class EchoTestsThroughALBOverASGI(EchoTests):
    client_class = ALBDjangoASGIClient


class EchoTestsThroughALBOverASGIMultiValue(EchoTests):
    client_class = ALBDjangoASGIClient.with_defaults(multi_value_headers=True)


# --------------------------------------------------------------------------- the response


def test_cookies_reach_the_cookie_jar_and_go_back(client: ALBClient) -> None:
    response = client.post("/login", {"user": "ada", "theme": "dark"})

    assert response.status_code == 302
    assert response.url == "/echo"
    assert headers_of(response) == [HTML, ("location", "/echo"), VARY, ("content-length", "0")]
    assert {name: masked(value) for name, value in cookies_of(response).items()} == {
        "sessionid": "sessionid=…; expires=…; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax",
        "theme": "theme=…; Path=/",
    }
    assert client.cookies["theme"].value == "dark"
    assert client.cookies["sessionid"].value == response.cookies["sessionid"].value
    assert client.get("/echo").json()["user"] == "ada"


def test_follow_and_assert_redirects(client: ALBClient) -> None:
    response = client.post("/login", {"user": "ada"}, follow=True)

    assert response.redirect_chain == [("/echo", 302)]
    assert response.status_code == 200
    assert response.json()["user"] == "ada"
    SimpleTestCase().assertRedirects(client.post("/login", {"user": "ada"}), "/echo")


def test_templates_and_context_arrive_by_signal(client: ALBClient) -> None:
    response = client.get("/page")

    assert response.status_code == 200
    assert response.content == b"<p>Hello Ada</p>\n"
    assert [template.name for template in response.templates] == ["page.html"]
    assert response.context["name"] == "Ada"


def test_wsgi_request_is_the_request_the_view_saw(client: ALBClient, kind: str) -> None:
    SEEN.clear()
    response = client.get("/echo?q=1")

    assert response.wsgi_request is SEEN[-1]
    assert type(response.wsgi_request) is (WSGIRequest if kind == "wsgi" else ASGIRequest)
    seen = response.wsgi_request
    event = seen.META["aws.event"] if kind == "wsgi" else seen.scope["aws.event"]
    assert event["path"] == "/echo"
    assert seen.session.get("user") is None
    assert response.resolver_match.url_name == "echo"


def test_the_view_runs_where_the_handler_runs_it(client: ALBClient, kind: str) -> None:
    """Under WSGI in the test's thread; under ASGI in a thread of the client's that uses the
    test's database connections (see the measurements at the end)."""
    response = client.get("/thread")

    expected = "MainThread" if kind == "wsgi" else "alb-django-views_0"
    assert response.content.decode() == expected


def test_a_ready_made_asgi_handlers_views_run_in_asgirefs_thread() -> None:
    with ASGIHandler(get_asgi_application(), snapstart=False) as handler:
        name = ALBDjangoASGIClient(handler=handler).get("/thread").content.decode()

    assert name.startswith("ThreadPoolExecutor-")


def test_without_asgiref_executor_contexts_views_run_in_asgirefs_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(alb_django, "VIEWS_CAN_USE_THE_TESTS_CONNECTIONS", False)
    client = ALBDjangoASGIClient()

    assert client.get("/thread").content.decode().startswith("ThreadPoolExecutor-")
    client.close()


def test_a_views_exception_is_raised_in_the_test(client: ALBClient) -> None:
    with pytest.raises(ZeroDivisionError, match="the view divided by zero"):
        client.get("/boom")


def test_without_raise_request_exception_it_is_djangos_500(kind: str, multi: bool) -> None:
    client = CLIENTS[kind](raise_request_exception=False, multi_value_headers=multi)

    response = client.get("/boom")

    assert response.status_code == 500
    assert headers_of(response) == [HTML, ("content-length", str(len(SERVER_ERROR)))]
    assert response.content == SERVER_ERROR
    assert response.exc_info[0] is ZeroDivisionError
    client.close()


def test_raise_request_exception_also_raises_what_escapes_the_handler(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception escaping the Lambda handler itself (here the adapter's verdict on three
    cookies in single-value mode, raised with ``raise_app_exceptions``) reaches the test as a
    view's does; with ``raise_request_exception=False`` it is what ALB answers: a 502."""
    options: dict[str, Any] = {"multi_cookie": "error", "raise_app_exceptions": True}
    raising = CLIENTS[kind](**options)
    answering = CLIENTS[kind](raise_request_exception=False, **options)

    with pytest.raises(AppError, match="3 Set-Cookie headers cannot be sent in single-value"):
        raising.get("/three-cookies")
    response = answering.get("/three-cookies")

    assert response.status_code == 502
    assert response["x-alb-emulator-error"] == (
        "LambdaUnhandled: AppError: 3 Set-Cookie headers cannot be sent in single-value mode "
        "(multi_cookie='error'); enable lambda.multi_value_headers.enabled on the target group, "
        "or choose multi_cookie='case-variants'"
    )
    assert [record.name for record in caplog.records] == ["alb_adapter.emulator"]
    raising.close()
    answering.close()


def test_csrf_is_relaxed_unless_enforced_as_with_djangos_client(kind: str, multi: bool) -> None:
    relaxed = CLIENTS[kind](multi_value_headers=multi)
    strict = CLIENTS[kind](enforce_csrf_checks=True, multi_value_headers=multi)

    assert relaxed.post("/form", {"text": "hi"}).content == b"posted hi"
    refused = strict.post("/form", {"text": "hi"})
    assert refused.status_code == 403
    assert b"CSRF verification failed. Request aborted." in refused.content
    token = strict.get("/form").content.decode()
    accepted = strict.post("/form", {"text": "hi", "csrfmiddlewaretoken": token})
    assert accepted.content == b"posted hi"
    relaxed.close()
    strict.close()


def test_a_streamed_response_arrives_whole(client: ALBClient) -> None:
    response = client.get("/stream")

    assert response.streaming is False
    assert response.content == b"first\nsecond\n"
    assert headers_of(response) == [TEXT, ("content-length", "13")]


# --------------------------------------------------------------------------- a ready-made handler


@pytest.mark.parametrize(
    ("client_class", "build"),
    [
        (ALBDjangoClient, lambda: WSGIHandler(get_wsgi_application())),
        (ALBDjangoASGIClient, lambda: ASGIHandler(get_asgi_application(), snapstart=False)),
    ],
    ids=["wsgi", "asgi"],
)
def test_a_ready_made_handler_is_used_as_it_is(
    client_class: type[ALBClient], build: Callable[[], WSGIHandler | ASGIHandler], multi: bool
) -> None:
    """Your deployed handler: requests go through it unchanged. Its Django builds its own
    requests, so the client cannot reach them: ``wsgi_request`` is the request as sent, and
    CSRF checks are enforced, as in production."""
    handler = build()
    client = client_class(handler=handler, multi_value_headers=multi)

    response = client.get("/echo")

    used: object = client.lambda_handler
    assert used is handler
    assert response.json()["event_header_field"] == ("multiValueHeaders" if multi else "headers")
    assert type(response.wsgi_request) is WSGIRequest
    assert "aws.event" not in response.wsgi_request.META
    assert response.resolver_match.url_name == "echo"
    assert client.post("/form", {"text": "hi"}).status_code == 403
    client.close()  # leaves the ready-made handler open
    assert handler(make_event("GET", "/items", host="testserver"), None)["statusCode"] == 200
    handler.close()


def test_a_ready_made_handlers_views_still_raise_in_the_test(kind: str) -> None:
    """Django sends the view's exception to the client by signal, from inside any handler."""
    with WSGIHandler(get_wsgi_application()) as handler:
        client = CLIENTS[kind](handler=handler)

        with pytest.raises(ZeroDivisionError, match="the view divided by zero"):
            client.get("/boom")


def test_any_lambda_handler_will_do_and_repeated_headers_are_joined(multi: bool) -> None:
    """Not only Django: the client takes any Lambda handler. A header a WSGI app repeats (which
    no HttpResponse holds twice) arrives joined with ", ", as single-value mode joins it."""
    app = simple_app(headers=[("Content-Type", "text/plain"), ("X-Tag", "a"), ("X-Tag", "b")])
    client = ALBDjangoClient(handler=WSGIHandler(app), multi_value_headers=multi)

    response = client.get("/anything")

    assert headers_of(response) == [TEXT, ("x-tag", "a, b"), ("content-length", "5")]
    assert response.content == b"hello"


def test_a_set_cookie_http_cookies_cannot_read_is_an_error_naming_the_cookie() -> None:
    app = simple_app(headers=[("Set-Cookie", f"token={SECRET}; Path=/; Shiny")])
    client = ALBDjangoClient(handler=WSGIHandler(app))

    with pytest.raises(ValueError, match="the Set-Cookie header for 'token' cannot be read") as e:
        client.get("/")
    assert SECRET not in str(e.value)


def test_close_closes_only_the_handler_the_client_built() -> None:
    client = ALBDjangoASGIClient()
    client.get("/items")
    built = client.lambda_handler
    assert isinstance(built, ASGIHandler)

    client.close()

    assert built.closed
    assert built.loop.is_closed()
    assert client.get("/items").status_code == 200  # a new one, built at the next request
    client.close()


# --------------------------------------------------------------------------- options


def test_unknown_options_are_refused_with_the_list() -> None:
    with pytest.raises(TypeError) as raised:
        ALBDjangoClient(multi_value_header=True)

    message = str(raised.value)
    assert message.startswith(
        "ALBDjangoClient: unknown option 'multi_value_header'; the options are "
        "multi_value_headers, handler, client_ip, timeout, source, stage, and the handler's: "
        "base_path, "
    )
    assert message.endswith(
        "(Django's environ defaults are upper-case CGI names such as HTTP_USER_AGENT)"
    )


def test_handler_options_are_checked_when_the_client_is_made() -> None:
    with pytest.raises(ValueError, match="base_path must start with '/'"):
        ALBDjangoClient(base_path="shop")
    with pytest.raises(ValueError, match="multi_cookie must be one of"):
        ALBDjangoASGIClient.with_defaults(multi_cookie="first")  # type: ignore[arg-type]


def test_a_handler_and_handler_options_together_are_refused() -> None:
    handler = WSGIHandler(get_wsgi_application())

    with pytest.raises(TypeError, match=r"give either handler= or the options .*\(base_path\)"):
        ALBDjangoClient(handler=handler, base_path="/shop")
    with pytest.raises(TypeError, match="handler= must be a Lambda handler"):
        ALBDjangoClient(handler="lambda_handler.handler")
    with pytest.raises(TypeError, match="multi_value_headers must be True or False, got 'yes'"):
        ALBDjangoClient(multi_value_headers="yes")


def test_importing_the_testing_package_does_not_import_django() -> None:
    code = "import sys, alb_adapter.testing; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_nothing_is_logged_above_debug_for_a_login(
    client: ALBClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Cookies, form bodies and the session never reach the logs (docs/alb-behaviour.md,
    rule 15): here nothing at all is logged above DEBUG."""
    caplog.set_level(logging.DEBUG)

    response = client.post("/login", {"user": "ada", "password": "hunter2"}, follow=True)

    assert response.status_code == 200
    assert logged_above_debug(caplog.records) == []


# --------------------------------------------------------------------------- only through ALB


def test_a_response_over_one_megabyte_is_the_handlers_explained_502(client: ALBClient) -> None:
    assert len(Client().get("/report").content) == ONE_MEGABYTE_AND_MORE  # fine for Django

    response = client.get("/report")

    assert response.status_code == 502
    body = response.content.decode()
    assert body.startswith("Bad Gateway: the response is larger than ALB accepts (response JSON: ")
    assert body.endswith(" bytes, limit 1000000).\n")
    assert headers_of(response) == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", str(len(body))),
    ]


def test_a_large_response_to_a_gzip_client_is_compressed_to_fit(client: ALBClient) -> None:
    response = client.get("/report", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding"
    assert gzip.decompress(response.content) == b"x" * ONE_MEGABYTE_AND_MORE


def test_three_cookies_all_arrive_by_default_in_both_modes(client: ALBClient) -> None:
    response = client.get("/three-cookies")

    assert cookies_of(response) == {"a": "a=A; Path=/", "b": "b=B; Path=/", "c": "c=C; Path=/"}
    assert {name: morsel.value for name, morsel in client.cookies.items()} == {
        "a": "A",
        "b": "B",
        "c": "C",
    }


def test_three_cookies_with_multi_cookie_last_keep_only_the_last_in_single_value_mode(
    kind: str, multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """response.py sends only the last Set-Cookie (and warns once) when a single-value target
    group is configured with multi_cookie="last": the first two cookies never reach the browser.
    Django's own client keeps all three."""
    client = CLIENTS[kind](multi_value_headers=multi, multi_cookie="last")

    response = client.get("/three-cookies")

    if multi:
        assert sorted(response.cookies) == ["a", "b", "c"]
        assert caplog.records == []
    else:
        assert cookies_of(response) == {"c": "c=C; Path=/"}
        assert sorted(client.cookies) == ["c"]
        assert [record.getMessage() for record in caplog.records] == [
            "3 Set-Cookie headers in single-value mode: only the last is sent "
            "(multi_cookie='last'); enable lambda.multi_value_headers.enabled on the target "
            "group to send them all. Warned once."
        ]
    client.close()


def test_three_cookies_with_multi_cookie_error_are_a_500_in_single_value_mode(
    kind: str, multi: bool
) -> None:
    client = CLIENTS[kind](multi_value_headers=multi, multi_cookie="error")

    response = client.get("/three-cookies")

    if multi:
        assert response.status_code == 200
        assert sorted(response.cookies) == ["a", "b", "c"]
    else:
        assert response.status_code == 500
        assert response.content == b"Internal Server Error\n"
        assert response.cookies == {}
    client.close()


def test_a_path_under_a_base_path_reaches_the_route(kind: str, multi: bool) -> None:
    client = CLIENTS[kind](multi_value_headers=multi, base_path="/shop")

    response = client.get("/shop/items")

    assert response.status_code == 200
    assert response.json() == {"items": ["tea"], "link": "/shop/items"}
    assert (response.wsgi_request.path, response.wsgi_request.path_info) == (
        "/shop/items",
        "/items",
    )
    # Django's client resolves the path it sent; this one, the path the view saw.
    assert response.resolver_match.url_name == "items"
    client.close()


def test_a_redirect_written_by_hand_leaves_the_base_path(kind: str, multi: bool) -> None:
    """Django's own client cannot tell the two redirects apart (no prefix: both say /items).
    Behind a rule for /shop/*, the one written by hand sends the browser out of the function."""
    direct = Client()
    assert direct.get("/items-by-hand")["Location"] == "/items"
    assert direct.get("/items-by-reverse")["Location"] == "/items"
    client = CLIENTS[kind](multi_value_headers=multi, base_path="/shop")

    assert client.get("/shop/items-by-reverse")["Location"] == "/shop/items"
    assert client.get("/shop/items-by-hand")["Location"] == "/items"
    client.close()


def test_albs_front_door_refuses_what_alb_refuses(client: ALBClient) -> None:
    response = client.post("/echo", data=b"x" * 1_000_001, content_type="text/plain")

    assert response.status_code == 413
    assert headers_of(response) == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", str(len(response.content))),
        (
            "x-alb-emulator-error",
            "the request body of 1,000,001 bytes is over ALB's limit of 1,000,000 bytes",
        ),
    ]
    assert b"<title>413 Request Entity Too Large</title>" in response.content
    # Django never saw it: wsgi_request is the request as the client sent it.
    assert "aws.event" not in response.wsgi_request.META


# --------------------------------------------------------------------------- other front doors

EXECUTE_API = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"  # the services' example API
# A Function URL's own domain, which its events always name (it has no custom domains).
FUNCTION_URL = "abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"


@pytest.fixture
def execute_api_allowed() -> Iterator[None]:
    """The API's execute-api host and the Function URL's domain in ALLOWED_HOSTS, as a project
    behind those front doors lists them."""
    with override_settings(ALLOWED_HOSTS=["testserver", EXECUTE_API, FUNCTION_URL]):
        yield


@pytest.mark.parametrize(
    ("source", "stage", "event_field", "scheme"),
    [
        ("apigw-rest", "prod", "multiValueHeaders", "http"),
        ("apigw-http-v1", None, "multiValueHeaders", "http"),
        ("apigw-http-v2", "prod", "headers", "http"),
        ("function-url", None, "headers", "http"),
        # Lattice's event carries no scheme (alb_adapter/sources/lattice/request.py): https.
        ("vpc-lattice-v2", None, "headers", "https"),
    ],
)
def test_every_request_goes_through_the_clients_front_door(
    kind: str,
    source: str,
    stage: str | None,
    event_field: str,
    scheme: str,
    execute_api_allowed: None,
) -> None:
    client = CLIENTS[kind](source=source, stage=stage)
    prefix = f"/{stage}" if stage else ""
    SEEN.clear()

    response = client.post(f"{prefix}/echo?q=a+b%2B", data=b"hello", content_type="text/plain")

    assert (client.source, client.stage) == (source, stage)
    assert response.status_code == 200
    assert headers_of(response) == [JSON, VARY, ("content-length", str(len(response.content)))]
    # Under a stage Django is on the execute-api host, the stage its SCRIPT_NAME, so reverse()
    # in the view and the absolute URL built from it are the execute-api URL.
    host = EXECUTE_API if stage else FUNCTION_URL if source == "function-url" else "testserver"
    assert response.json() == {
        "method": "POST",
        "path": f"{prefix}/echo",
        "script_name": prefix,
        "path_info": "/echo",
        "query": "q=a+b%2B",
        "q": "a b+",
        "body": "hello",
        "remote_addr": "127.0.0.1",  # the service's source IP: Django's client's REMOTE_ADDR
        "forwarded_for": "127.0.0.1",
        "user_agent": None,
        "host": host,
        "scheme": scheme,
        "user": None,
        "event_header_field": event_field,
        "link": f"{scheme}://{host}{prefix}/echo",
    }
    # The request the view saw is the one the front door's event made.
    [seen] = SEEN
    assert response.wsgi_request is seen
    assert response.resolver_match.url_name == "echo"
    client.close()


def test_under_a_stage_redirects_and_cookies_stay_on_the_stage(
    kind: str, execute_api_allowed: None
) -> None:
    client = CLIENTS[kind].with_defaults(source="apigw-rest", stage="prod")()

    response = client.post("/prod/login", {"user": "ada", "theme": "dark"}, follow=True)

    # reverse() in the view gives /prod/echo (the stage is Django's script prefix there); in the
    # test, outside any request, it stays /echo.
    assert response.redirect_chain == [("/prod/echo", 302)]
    assert reverse("echo") == "/echo"
    assert response.json()["user"] == "ada"
    assert sorted(client.cookies) == ["sessionid", "theme"]
    three = client.get("/prod/three-cookies")
    assert cookies_of(three) == {"a": "a=A; Path=/", "b": "b=B; Path=/", "c": "c=C; Path=/"}
    client.close()


def crashing_function(event: dict[str, Any], context: object) -> object:
    """A Lambda function that fails before it answers (an import error, an out-of-memory)."""
    raise RuntimeError("the function crashed")


@pytest.mark.parametrize(
    ("source", "status", "content_type", "body"),
    [
        ("apigw-rest", 502, "application/json", b'{"message": "Internal server error"}'),
        ("apigw-http-v2", 500, "application/json", b'{"message":"Internal Server Error"}'),
        ("function-url", 502, "text/plain", b"Internal Server Error"),
    ],
)
def test_a_function_that_fails_gets_the_front_doors_own_error(
    kind: str, source: str, status: int, content_type: str, body: bytes
) -> None:
    client = CLIENTS[kind](handler=crashing_function, source=source, raise_request_exception=False)

    response = client.get("/echo")

    assert response.status_code == status
    assert headers_of(response) == [
        ("content-type", content_type),
        ("content-length", str(len(body))),
        ("x-alb-emulator-error", "LambdaUnhandled: RuntimeError: the function crashed"),
    ]
    assert response.content == body


def test_the_repr_names_the_front_door(kind: str) -> None:
    client = CLIENTS[kind](source="apigw-rest", stage="prod")
    handler = (
        "WSGIHandler(get_wsgi_application())"
        if kind == "wsgi"
        else "ASGIHandler(get_asgi_application())"
    )

    assert repr(client) == (
        f"<{CLIENTS[kind].__name__} through API Gateway REST API to {handler}, stage 'prod'>"
    )


class EchoTestsBehindAnHTTPAPI(EchoTests):
    """Django's idiom unchanged behind another front door, reached through a custom domain
    (``testserver``): the paths are the app's own, as behind ALB."""

    client_class = ALBDjangoClient.with_defaults(source="apigw-http-v2")


@override_settings(ALLOWED_HOSTS=["testserver", FUNCTION_URL])
class EchoTestsBehindAFunctionURLOverASGI(EchoTests):
    """Behind a Function URL the project is on the URL's own domain, which it lists."""

    client_class = ALBDjangoASGIClient.with_defaults(source="function-url")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"source": "function-url", "stage": "prod"},
            ValueError,
            "stage= is an API Gateway setting; Lambda Function URL has no stages",
        ),
        (
            {"source": "vpc-lattice-v2", "multi_value_headers": True},
            ValueError,
            "multi_value_headers is ALB's target-group setting; VPC Lattice (V2) has one event "
            "format",
        ),
        (
            {"source": "cloudfront"},
            ValueError,
            "no front door called 'cloudfront'; the front doors are: alb, apigw-rest, "
            "apigw-http-v1, apigw-http-v2, function-url, vpc-lattice-v2, vpc-lattice-v1",
        ),
        (
            {"source": "apigw-rest", "stage": ["prod"]},
            TypeError,
            "stage must be a stage name or None, got ['prod']",
        ),
    ],
)
def test_settings_a_front_door_does_not_have_are_refused_when_set(
    kind: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    client_class = CLIENTS[kind]
    with pytest.raises(error) as per_class:
        client_class.with_defaults(**options)
    with pytest.raises(error) as per_client:
        client_class(**options)

    assert str(per_class.value) == f"{client_class.__name__}.with_defaults(): {message}"
    assert str(per_client.value) == f"{client_class.__name__}: {message}"


# --------------------------------------------------------------------------- the test database
#
# What the views see of a test's database through each client, measured with SQLite in a fresh
# interpreter (settings with django.contrib.auth), by Django's own test runner, for TestCase
# (each test in a transaction, rolled back) and TransactionTestCase (committed, then flushed).
# Two test databases: Django's default for SQLite (in memory, shared between connections) and a
# file, like any database server, where a connection closed during a test loses its transaction.

DATABASE_CLIENTS = (
    "Client",
    "ALBDjangoClient",
    "ALBDjangoClient multi-value",
    "ALBDjangoASGIClient",
    "ALBDjangoASGIClient multi-value",
    "ALBDjangoClient ready-made handler",
    "ALBDjangoASGIClient ready-made handler",
)
DATABASE_TESTS = (
    "test_rows_the_test_wrote_reach_the_view",
    "test_rows_the_view_wrote_reach_the_test",
    "test_force_login_reaches_the_view",
    "test_wsgi_request_user_is_the_views",
)
ALL_PASS = dict.fromkeys(DATABASE_TESTS, "ok")
NO_VIEW_REQUEST = "error: AttributeError: 'WSGIRequest' object has no attribute 'user'"


def database_settings(database: str, directory: str) -> dict[str, Any]:
    """The measured project: this module's views, with auth and database sessions."""
    test_database = {} if database == "memory" else {"NAME": f"{directory}/test.sqlite3"}
    return {
        "SECRET_KEY": "test-only-" + "k" * 40,
        "ALLOWED_HOSTS": ["testserver"],
        "ROOT_URLCONF": "__main__",
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": f"{directory}/db.sqlite3",
                # A locked database fails at once instead of after SQLite's 5 s wait.
                "OPTIONS": {"timeout": 0.05},
                "TEST": test_database,
            }
        },
        "INSTALLED_APPS": [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        "MIDDLEWARE": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
        "USE_TZ": True,
    }


def database_test_cases() -> list[type[unittest.TestCase]]:
    """One class per test-case kind and client, each with DATABASE_TESTS (made here, inside a
    function, so that pytest never collects them: they need the measured project's settings)."""
    from django.contrib.auth.models import User
    from django.test import TestCase, TransactionTestCase

    wsgi_handler = WSGIHandler(get_wsgi_application())
    asgi_handler = ASGIHandler(get_asgi_application(), snapstart=False)
    client_classes: dict[str, Any] = {
        "Client": Client,
        "ALBDjangoClient": ALBDjangoClient,
        "ALBDjangoClient multi-value": ALBDjangoClient.with_defaults(multi_value_headers=True),
        "ALBDjangoASGIClient": ALBDjangoASGIClient,
        "ALBDjangoASGIClient multi-value": ALBDjangoASGIClient.with_defaults(
            multi_value_headers=True
        ),
        "ALBDjangoClient ready-made handler": ALBDjangoClient.with_defaults(handler=wsgi_handler),
        "ALBDjangoASGIClient ready-made handler": ALBDjangoASGIClient.with_defaults(
            handler=asgi_handler
        ),
    }

    class DatabaseTests:
        client: Any

        def setUp(self) -> None:
            self.user = User.objects.create(username="ada")

        def test_rows_the_test_wrote_reach_the_view(self) -> None:
            response = self.client.get("/users")
            assert response.json() == {"users": ["ada"]}, response.json()

        def test_rows_the_view_wrote_reach_the_test(self) -> None:
            response = self.client.post("/users", {"name": "bob"})
            assert response.status_code == 201, response.status_code
            names = sorted(User.objects.values_list("username", flat=True))
            assert names == ["ada", "bob"], names

        def test_force_login_reaches_the_view(self) -> None:
            self.client.force_login(self.user)
            response = self.client.get("/whoami")
            assert response.json() == {"user": "ada"}, response.json()

        def test_wsgi_request_user_is_the_views(self) -> None:
            self.client.force_login(self.user)
            response = self.client.get("/whoami")
            assert response.wsgi_request.user == self.user, response.wsgi_request.user

    cases: list[type[unittest.TestCase]] = []
    for base in (TestCase, TransactionTestCase):
        for label, client_class in client_classes.items():
            name = f"{base.__name__} {label}"
            cases.append(type(name, (DatabaseTests, base), {"client_class": client_class}))
    return cases


def measure_database_isolation(database: str, output: str) -> None:
    """Run the database tests with Django's test runner and write each outcome, as
    ``{"TestCase": {client: {test: outcome}}, ...}``: "ok", "failed: <assertion>" or
    "error: <exception>"."""
    directory = str(Path(output).parent)
    settings.configure(**database_settings(database, directory))
    django.setup()
    from django.test.runner import DiscoverRunner

    logging.disable(logging.CRITICAL)  # Django logs each 500; the outcomes say what happened
    runner = DiscoverRunner(verbosity=0)
    runner.setup_test_environment()
    old_config = runner.setup_databases()
    try:
        cases = database_test_cases()
        suite = unittest.TestSuite(case(name) for case in cases for name in DATABASE_TESTS)
        result = unittest.TestResult()
        suite.run(result)
    finally:
        runner.teardown_databases(old_config)
        runner.teardown_test_environment()
    outcomes: dict[str, dict[str, dict[str, str]]] = {}
    for case in cases:
        kind, _, label = case.__name__.partition(" ")
        outcomes.setdefault(kind, {})[label] = dict.fromkeys(DATABASE_TESTS, "ok")
    for verdict, problems in (("failed", result.failures), ("error", result.errors)):
        for test, trace in problems:
            kind, _, label = type(test).__name__.partition(" ")
            last_line = trace.strip().splitlines()[-1]
            if verdict == "failed":
                last_line = last_line.removeprefix("AssertionError: ")
            outcomes[kind][label][test._testMethodName] = f"{verdict}: {last_line}"
    Path(output).write_text(json.dumps(outcomes, indent=1))


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The outcomes for each test database, from one fresh interpreter each."""
    results: dict[str, Any] = {}
    environment = {key: value for key, value in os.environ.items() if key != ENVIRONMENT_VARIABLE}
    for database in ("memory", "file"):
        output = tmp_path_factory.mktemp(database) / "outcomes.json"
        subprocess.run(
            [sys.executable, "-m", "tests.test_testing_django", database, str(output)],
            cwd=ROOT,
            env=environment,
            check=True,
            timeout=120,
        )
        results[database] = json.loads(output.read_text())
    return results


@pytest.mark.parametrize("database", ["memory", "file"])
@pytest.mark.parametrize(
    "label",
    [label for label in DATABASE_CLIENTS if "ready-made" not in label],
)
@pytest.mark.parametrize("case", ["TestCase", "TransactionTestCase"])
def test_views_see_the_tests_database_through_the_clients_own_handler(
    measured: dict[str, Any], database: str, case: str, label: str
) -> None:
    """Django's client, and both ALB clients building their own handler: the test's rows reach
    the view and back, force_login works, and wsgi_request.user is the view's, in TestCase too
    (under ASGI because the views' thread uses the test's connections)."""
    assert measured[database][case][label] == ALL_PASS


@pytest.mark.parametrize("database", ["memory", "file"])
@pytest.mark.parametrize("case", ["TestCase", "TransactionTestCase"])
def test_a_ready_made_wsgi_handler_sees_the_tests_database_but_not_wsgi_request_user(
    measured: dict[str, Any], database: str, case: str
) -> None:
    """Django runs the views in the test's thread, on its connection: TestCase works. The
    request the view saw stays inside the handler: wsgi_request is the one the client sent."""
    outcomes = measured[database][case]["ALBDjangoClient ready-made handler"]
    assert outcomes == {**ALL_PASS, "test_wsgi_request_user_is_the_views": NO_VIEW_REQUEST}


@pytest.mark.parametrize("database", ["memory", "file"])
def test_a_ready_made_asgi_handler_needs_transaction_test_case(
    measured: dict[str, Any], database: str
) -> None:
    """The limit, measured: through a ready-made ASGIHandler Django runs sync views in asgiref's
    thread, on a connection of its own. TestCase's transaction is not committed, so that
    connection cannot see it: in memory SQLite reports the tables locked, in a file (as with any
    database server) the view sees the database without the test's rows, and the test cannot
    see the view's write behind its own transaction. TransactionTestCase commits: it works."""
    label = "ALBDjangoASGIClient ready-made handler"
    locked = "error: django.db.utils.OperationalError: database table is locked"
    expected_test_case = {
        "memory": {
            "test_rows_the_test_wrote_reach_the_view": f"{locked}: auth_user",
            "test_rows_the_view_wrote_reach_the_test": locked,
            "test_force_login_reaches_the_view": f"{locked}: django_session",
            "test_wsgi_request_user_is_the_views": f"{locked}: django_session",
        },
        "file": {
            "test_rows_the_test_wrote_reach_the_view": "failed: {'users': []}",
            "test_rows_the_view_wrote_reach_the_test": (
                "error: django.db.utils.OperationalError: database is locked"
            ),
            "test_force_login_reaches_the_view": "failed: {'user': None}",
            "test_wsgi_request_user_is_the_views": NO_VIEW_REQUEST,
        },
    }
    assert measured[database]["TestCase"][label] == expected_test_case[database]
    assert measured[database]["TransactionTestCase"][label] == {
        **ALL_PASS,
        "test_wsgi_request_user_is_the_views": NO_VIEW_REQUEST,
    }


if __name__ == "__main__":
    measure_database_isolation(*sys.argv[1:])
