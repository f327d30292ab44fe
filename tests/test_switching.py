"""Switching from Mangum, apig-wsgi or serverless-wsgi (docs/switching.md).

For each of the three, an app written as that adapter's users write it (reading its environ or
scope keys, configured with its options) runs under the adapter and, after the change the guide
prescribes (its code blocks, run as written), under alb-adapter: on the real ALB events of the
shared corpus and on make_event's, the client receives the same responses. Where a peer reads an
event wrongly itself (a cookie header split over two lines, an empty path), it is given the same
request written the way it reads right, so that the comparison is with the answer its users meant.

Then: the peers' keys, value for value; the guide's tables against what each peer documents; the
peers' option names refused with their equivalents; the differences no option undoes, each shown
as it bites; and the ``extra_keys`` hook on its own.
"""

# Django has no types; the annotations here say what its objects are.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import hashlib
import inspect
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import django
import pytest
import serverless_wsgi  # a single module without types
from apig_wsgi import make_lambda_handler
from django.conf import ENVIRONMENT_VARIABLE, settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import override_settings
from django.urls import path as django_path
from django.urls import re_path
from fastapi import FastAPI
from flask import Flask, jsonify
from flask import Response as FlaskResponse
from flask import request as flask_request
from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.responses import Response as StarletteResponse

from alb_adapter import ASGIHandler, UnsupportedEvent, WSGIHandler
from alb_adapter.emulator.loader import as_handler
from alb_adapter.model import Request
from alb_adapter.testing import (
    ALBClient,
    LambdaContext,
    make_event,
    make_health_check_event,
    read_response,
)
from tests.support import ALB_EVENTS, logged_above_debug

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "switching.md"
CONTEXT = LambdaContext()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)

Event = dict[str, Any]
Handler = Callable[[Event, Any], dict[str, Any]]
# What a client receives: status, headers (lowercase names, sorted: ALB may reorder them; no
# Content-Length, which ALB computes itself; values without the blanks around them, which are not
# part of a value: RFC 9110, section 5.5), body bytes.
Received = tuple[int, list[tuple[str, str]], bytes]


# --------------------------------------------------------------------------- the guide's code


def guide_block(marker: str) -> str:
    """The Python code block docs/switching.md marks with ``<!-- marker -->``."""
    found = re.search(
        rf"<!-- {re.escape(marker)} -->\n```python\n(.*?)\n```", GUIDE.read_text(), re.DOTALL
    )
    assert found is not None, f"docs/switching.md has no code block marked {marker!r}"
    return found.group(1)


def run_guide(*markers: str, **names: Any) -> dict[str, Any]:
    """Run the guide's blocks, in order, in one namespace holding ``names`` (the user's app)."""
    namespace = dict(names)
    for marker in markers:
        exec(guide_block(marker), namespace)
    return namespace


# --------------------------------------------------------------------------- the apps


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def mangum_users_app() -> FastAPI:
    """A FastAPI app as Mangum's users write it: the event and the context read from the scope,
    a value from the lifespan's state, a header for internal eyes only (Mangum's exclude_headers
    drops it) and a YAML document (its type added to Mangum's text_mime_types)."""
    lifespan_log: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        lifespan_log.append("startup")
        yield {"greeting": "hello"}
        lifespan_log.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    app.state.lifespan_log = lifespan_log

    @app.get("/document")
    async def document() -> StarletteResponse:
        return StarletteResponse("openapi: 3.1.0\n", media_type="application/x-yaml")

    @app.get("/logo.png")
    async def logo() -> StarletteResponse:
        return StarletteResponse(PNG, media_type="image/png")

    @app.post("/login")
    async def login(request: StarletteRequest) -> JSONResponse:
        user = (await request.json())["user"]
        response = JSONResponse({"user": user})
        response.set_cookie("session", f"s-{user}", httponly=True)
        return response

    @app.api_route("/{path:path}", methods=METHODS)
    async def echo(request: StarletteRequest, path: str) -> JSONResponse:
        event = request.scope["aws.event"]
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": sorted(request.query_params.multi_items()),
                "body": body_digest(await request.body()),
                "cookies": sorted(request.cookies.items()),
                "target_group": event["requestContext"]["elb"].get("targetGroupArn"),
                "request_id": request.scope["aws.context"].aws_request_id,
                "greeting": request.state.greeting,
            },
            headers={"x-internal-trace": "trace-1"},
        )

    return app


def apig_wsgi_users_app() -> Flask:
    """A Flask app as apig-wsgi's users write it: the event, its request context, the Lambda
    context and the header mode read from apig-wsgi's environ keys; a JSON:API document (a type
    in its non-binary prefixes) and a problem+json one (not in them)."""
    app = Flask("apig_wsgi_users_app")

    @app.route("/document")
    def document() -> FlaskResponse:
        return FlaskResponse('{"data": []}', content_type="application/vnd.api+json")

    @app.route("/problem")
    def problem() -> FlaskResponse:
        return FlaskResponse('{"title": "Sold out"}', 409, content_type="application/problem+json")

    @app.route("/logo.png")
    def logo() -> FlaskResponse:
        return FlaskResponse(PNG, content_type="image/png")

    @app.route("/login", methods=["POST"])
    def login() -> FlaskResponse:
        user = (flask_request.get_json() or {})["user"]
        response = jsonify(user=user)
        response.set_cookie("session", f"s-{user}", httponly=True)
        return response

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def echo(path: str) -> FlaskResponse:
        environ = flask_request.environ
        return jsonify(
            method=flask_request.method,
            path=flask_request.path,
            query=sorted(flask_request.args.items(multi=True)),
            body=body_digest(flask_request.get_data()),
            cookies=sorted(flask_request.cookies.items()),
            target_group=environ["apig_wsgi.request_context"]["elb"].get("targetGroupArn"),
            request_id=environ["apig_wsgi.context"].aws_request_id,
            event_method=environ["apig_wsgi.full_event"]["httpMethod"],
            multi_value_headers=environ["apig_wsgi.multi_value_headers"],
        )

    return app


# The Django project of serverless-wsgi's users: its views read serverless-wsgi's keys.


def django_echo(request: HttpRequest) -> HttpResponse:
    event = request.environ["serverless.event"]
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "path_info": request.path_info,
            "query": sorted(request.GET.lists()),
            "body": body_digest(request.body),
            "cookies": sorted(request.COOKIES.items()),
            "target_group": event["requestContext"].get("elb", {}).get("targetGroupArn"),
            "request_id": request.META["serverless.context"].aws_request_id,
            "authorizer": request.META["serverless.authorizer"],
            "user": request.META["REMOTE_USER"],
            "host": request.get_host(),
        }
    )


def django_document(request: HttpRequest) -> HttpResponse:
    return HttpResponse('{"data": []}', content_type="application/vnd.api+json")


def django_logo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PNG, content_type="image/png")


def django_login(request: HttpRequest) -> HttpResponse:
    user = json.loads(request.body)["user"]
    response = JsonResponse({"user": user})
    response.set_cookie("session", f"s-{user}", httponly=True)
    return response


urlpatterns = [
    django_path("document", django_document),
    django_path("logo.png", django_logo),
    django_path("login", django_login),
    re_path(r"", django_echo),
]

DJANGO_SETTINGS: dict[str, Any] = {
    "ROOT_URLCONF": __name__,
    # The hosts the corpus's events carry, and serverless-wsgi's `lambda` for requests without
    # one; not `localhost`, so a health check without default_host="lambda" is refused.
    "ALLOWED_HOSTS": ["lambda", ".amazonaws.com", "example.com"],
    "MIDDLEWARE": [],
    "DEBUG": False,
}


@pytest.fixture(scope="module")
def django_application() -> Iterator[Any]:
    """The project's WSGI application, with this module's settings over whatever the process
    has (the Django example's, when pytest runs the whole repository)."""
    if not os.environ.get(ENVIRONMENT_VARIABLE) and not settings.configured:
        settings.configure(SECRET_KEY="test-only-" + "k" * 40)
    django.setup()
    with override_settings(**DJANGO_SETTINGS):
        yield get_wsgi_application()


# --------------------------------------------------------------------------- the switches


class MangumThread:
    """Where Mangum runs: it sets up and uses the current event loop of the thread it runs in,
    as Lambda's main thread has one; here that thread is not pytest's, which keeps its own."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1)

    def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._executor.submit(function, *args, **kwargs).result()

    def close(self) -> None:
        self.run(_close_this_threads_loop)
        self._executor.shutdown()


def _close_this_threads_loop() -> None:
    with contextlib.suppress(RuntimeError):  # Mangum never ran here: no loop to close
        asyncio.get_event_loop_policy().get_event_loop().close()


@pytest.fixture(scope="module")
def mangum_thread() -> Iterator[MangumThread]:
    thread = MangumThread()
    yield thread
    thread.close()


def with_cookie_lines_joined(event: Event) -> Event:
    """The request with its cookie header on one line, as an HTTP/1.1 browser sends it:
    apig-wsgi joins split lines with ``,`` (one broken cookie), serverless-wsgi keeps the last."""
    lines = (event.get("multiValueHeaders") or {}).get("cookie", [])
    if len(lines) < 2:
        return event
    event = copy.deepcopy(event)
    event["multiValueHeaders"]["cookie"] = ["; ".join(lines)]
    return event


def with_root_for_empty_path(event: Event) -> Event:
    """The request with ``/`` for an empty path: apig-wsgi passes ``""`` on, and Flask
    redirects it."""
    return {**event, "path": "/"} if event.get("path") == "" else event


class Switch(NamedTuple):
    """One adapter and the app written for it: ``peer`` is the handler its users deploy now,
    ``ours`` the handler after the guide's change, ``as_peer_reads_it`` the same request written
    the way the peer reads it right."""

    name: str
    peer: Handler
    ours: Handler
    as_peer_reads_it: Callable[[Event], Event]


@pytest.fixture(scope="module")
def mangum_switch(mangum_thread: MangumThread) -> Iterator[Switch]:
    mangum = mangum_thread.run(
        Mangum,
        mangum_users_app(),
        text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/x-yaml"],
        exclude_headers=["x-internal-trace"],
    )

    def peer(event: Event, context: Any) -> dict[str, Any]:
        answer: dict[str, Any] = mangum_thread.run(mangum, event, context)
        return answer

    guide = run_guide("recipe: without_response_headers", "switch: mangum", app=mangum_users_app())
    with guide["handler"] as ours:
        yield Switch("mangum", peer, ours, lambda event: event)


@pytest.fixture(scope="module")
def apig_wsgi_switch() -> Iterator[Switch]:
    peer = make_lambda_handler(
        apig_wsgi_users_app(),
        binary_support=True,
        non_binary_content_type_prefixes=["text/", "application/json", "application/vnd.api+json"],
    )
    guide = run_guide("switch: apig-wsgi", app=apig_wsgi_users_app())

    def as_apig_wsgi_reads_it(event: Event) -> Event:
        return with_root_for_empty_path(with_cookie_lines_joined(event))

    with guide["handler"] as ours:
        yield Switch("apig-wsgi", peer, ours, as_apig_wsgi_reads_it)


@pytest.fixture(scope="module")
def serverless_wsgi_switch(django_application: Any) -> Iterator[Switch]:
    def peer(event: Event, context: Any) -> dict[str, Any]:
        """What the plugin's wsgi_handler.handler does."""
        answer: dict[str, Any] = serverless_wsgi.handle_request(django_application, event, context)
        return answer

    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("API_GATEWAY_BASE_PATH", raising=False)
        guide = run_guide("switch: serverless-wsgi", application=django_application)
    with guide["handler"] as ours:
        yield Switch("serverless-wsgi", peer, ours, with_cookie_lines_joined)


@pytest.fixture(params=["mangum", "apig-wsgi", "serverless-wsgi"])
def switch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Switch:
    # serverless-wsgi reads these on every request: none of the comparisons sets them.
    monkeypatch.delenv("API_GATEWAY_BASE_PATH", raising=False)
    monkeypatch.delenv("STRIP_STAGE_PATH", raising=False)
    fixture = str(request.param).replace("-", "_") + "_switch"
    chosen: Switch = request.getfixturevalue(fixture)
    return chosen


def received(answer: dict[str, Any], event: Event) -> Received:
    """What the client receives for ``answer``, as ALB delivers it in the event's header mode."""
    response = read_response(answer, multi_value_headers=event.get("multiValueHeaders") is not None)
    headers = sorted(
        (name, value.strip(" \t")) for name, value in response.headers if name != "content-length"
    )
    return response.status, headers, response.body


def through_both(switch: Switch, event: Event) -> tuple[Received, Received]:
    """(what the peer's client receives, what alb-adapter's receives) for one request."""
    peer = received(switch.peer(switch.as_peer_reads_it(copy.deepcopy(event)), CONTEXT), event)
    ours = received(switch.ours(copy.deepcopy(event), CONTEXT), event)
    return peer, ours


# --------------------------------------------------------------------------- the corpus


def is_alb_request(event: object) -> bool:
    """A whole ALB request event (not a response, a fragment or a template)."""
    return (
        isinstance(event, dict)
        and isinstance(event.get("requestContext"), dict)
        and "elb" in event["requestContext"]
        and str(event.get("httpMethod", "")).isalpha()
    )


def has_invalid_base64(event: Event) -> bool:
    if not event.get("isBase64Encoded"):
        return False
    try:
        base64.b64decode(event.get("body") or "", validate=True)
    except binascii.Error:
        return True
    return False


def single_value_query_beside_multi_value_headers(event: Event) -> bool:
    """apig-wsgi's test helper's events: a shape ALB never sends."""
    return (
        event.get("multiValueHeaders") is not None
        and event.get("multiValueQueryStringParameters") is None
        and bool(event.get("queryStringParameters"))
    )


def corpus(*, valid_base64: bool) -> list[Any]:
    if not ALB_EVENTS.is_dir():
        return []  # the corpus is not beside the repository: pytest reports the test skipped
    cases = []
    for path in sorted(ALB_EVENTS.rglob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        if not is_alb_request(event) or has_invalid_base64(event) == valid_base64:
            continue
        marks = []
        if event.get("multiValueHeaders") is None and event.get("multiValueQueryStringParameters"):
            marks.append(
                pytest.mark.skip(
                    reason="read in the headers' single-value mode (docs/alb-behaviour.md, rule "
                    "1): its multiValueQueryStringParameters are ignored, with a warning"
                )
            )
        if single_value_query_beside_multi_value_headers(event):
            marks.append(
                pytest.mark.skip(
                    reason="read as multi-value (docs/alb-behaviour.md, rule 1): its "
                    "queryStringParameters are ignored, with a warning"
                )
            )
        cases.append(pytest.param(event, id=str(path.relative_to(ALB_EVENTS)), marks=marks))
    return cases


@pytest.mark.parametrize("event", corpus(valid_base64=True))
def test_every_corpus_event_gets_the_same_answer(switch: Switch, event: Event) -> None:
    peer, ours = through_both(switch, event)
    assert ours == peer
    assert ours[0] == 200  # answers of the app, not two refusals


@pytest.mark.parametrize("event", corpus(valid_base64=False))
def test_a_body_that_is_not_base64_is_answered_400_without_the_app(
    switch: Switch, event: Event
) -> None:
    # The peers decode such a body leniently, or fail the invocation (ALB answers 502).
    assert received(switch.ours(copy.deepcopy(event), CONTEXT), event) == (
        400,
        [("content-type", "text/plain; charset=utf-8")],
        b"Bad Request: the request body could not be decoded.\n",
    )


# --------------------------------------------------------------------------- make_event's cases

REQUESTS: dict[str, Callable[[bool], Event]] = {
    "query": lambda multi: make_event(
        "GET", "/search?q=a+b&tag=x%2By&tag=z&empty=", multi_value_headers=multi
    ),
    "form": lambda multi: make_event(
        "POST", "/orders", form={"item": "book", "qty": "2"}, multi_value_headers=multi
    ),
    "json": lambda multi: make_event(
        "PUT", "/items/7", json={"name": "Zoë"}, multi_value_headers=multi
    ),
    "binary body": lambda multi: make_event(
        "POST",
        "/upload",
        body=bytes(range(256)),
        headers={"content-type": "application/octet-stream"},
        multi_value_headers=multi,
    ),
    "cookies": lambda multi: make_event(
        "GET", "/me", headers={"cookie": "session=abc; theme=dark"}, multi_value_headers=multi
    ),
    "encoded path": lambda multi: make_event("DELETE", "/files/a%20b", multi_value_headers=multi),
    "login": lambda multi: make_event(
        "POST", "/login", json={"user": "ada"}, multi_value_headers=multi
    ),
    "document": lambda multi: make_event("GET", "/document", multi_value_headers=multi),
    "image": lambda multi: make_event("GET", "/logo.png", multi_value_headers=multi),
    "health check": lambda multi: make_health_check_event("/", multi_value_headers=multi),
}


@pytest.mark.parametrize("name", REQUESTS)
def test_make_event_requests_get_the_same_answer(switch: Switch, name: str, multi: bool) -> None:
    peer, ours = through_both(switch, REQUESTS[name](multi))
    assert ours == peer
    assert ours[0] == 200


@pytest.mark.parametrize(
    ("peer", "path", "as_text"),
    [
        ("mangum", "/document", True),  # application/x-yaml, added to text_mime_types
        ("mangum", "/logo.png", False),
        ("apig-wsgi", "/document", True),  # application/vnd.api+json, one of the prefixes
        ("apig-wsgi", "/problem", False),  # application/problem+json, not one of them
        ("apig-wsgi", "/logo.png", False),
        ("serverless-wsgi", "/document", True),
        ("serverless-wsgi", "/logo.png", False),
    ],
)
def test_bodies_go_as_text_or_base64_as_the_peers_options_said(
    peer: str, path: str, as_text: bool, request: pytest.FixtureRequest
) -> None:
    """What API Gateway REST APIs care about (base64 reaches clients as bytes only for the API's
    binary media types): the text_content_types the guide gives decide as the peer's options did."""
    chosen: Switch = request.getfixturevalue(peer.replace("-", "_") + "_switch")
    event = make_event("GET", path)
    answers = [
        chosen.peer(copy.deepcopy(event), CONTEXT),
        chosen.ours(copy.deepcopy(event), CONTEXT),
    ]
    assert [answer.get("isBase64Encoded", False) for answer in answers] == [not as_text] * 2
    assert received(answers[1], event) == received(answers[0], event)


# --------------------------------------------------------------------------- the keys


def recording_wsgi_app() -> Callable[..., list[bytes]]:
    """A WSGI app that keeps the environ of its last request in ``app.environ``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        app.environ = environ  # type: ignore[attr-defined]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def with_authorizer(event: Event, authorizer: dict[str, Any]) -> Event:
    event["requestContext"]["authorizer"] = authorizer
    return event


# The keys of PEP 3333 and CGI that every adapter sets: what is left is the peer's own.
STANDARD_KEYS = {
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
}


def peer_own_keys(environ: dict[str, Any]) -> set[str]:
    return {
        key
        for key in environ
        if key not in STANDARD_KEYS and not key.startswith(("wsgi.", "HTTP_", "aws."))
    }


KEY_EVENTS: dict[str, Callable[[], Event]] = {
    "ALB single-value": lambda: make_event("GET", "/items?a=1"),
    "ALB multi-value": lambda: make_event("GET", "/items?a=1", multi_value_headers=True),
    "ALB health check": lambda: make_health_check_event("/"),
    "REST API, Lambda authorizer": lambda: with_authorizer(
        make_event("GET", "/prod/items", source="apigw-rest", stage="prod"),
        {"principalId": "zoë", "scope": "read"},
    ),
    "HTTP API 2.0, JWT authorizer": lambda: with_authorizer(
        make_event("GET", "/items", source="apigw-http-v2"),
        {"jwt": {"claims": {"sub": "zoë"}, "scopes": None}},
    ),
}


@pytest.mark.parametrize("name", KEY_EVENTS)
@pytest.mark.parametrize(
    ("peer", "peer_handler"),
    [
        ("apig-wsgi", make_lambda_handler),
        (
            "serverless-wsgi",
            lambda app: lambda event, context: serverless_wsgi.handle_request(app, event, context),
        ),
    ],
)
def test_extra_keys_gives_the_peers_keys_value_for_value(
    peer: str, peer_handler: Callable[[Any], Handler], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_GATEWAY_BASE_PATH", raising=False)
    monkeypatch.delenv("STRIP_STAGE_PATH", raising=False)
    event = KEY_EVENTS[name]()
    theirs, ours = recording_wsgi_app(), recording_wsgi_app()
    peer_handler(theirs)(copy.deepcopy(event), CONTEXT)
    WSGIHandler(ours, extra_keys=peer)(copy.deepcopy(event), CONTEXT)  # type: ignore[arg-type]
    keys = peer_own_keys(theirs.environ) - {"HTTP"}  # type: ignore[attr-defined]
    assert keys == peer_own_keys(ours.environ)  # type: ignore[attr-defined]
    assert {key: ours.environ[key] for key in keys} == {  # type: ignore[attr-defined]
        key: theirs.environ[key]  # type: ignore[attr-defined]
        for key in keys
    }


def test_extra_keys_apig_wsgi_for_alb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The values themselves, once, so that the comparison above is not of two empty sets."""
    app = recording_wsgi_app()
    event = make_event("GET", "/", multi_value_headers=True)
    WSGIHandler(app, extra_keys="apig-wsgi")(event, CONTEXT)
    environ = app.environ  # type: ignore[attr-defined]
    assert {key: environ[key] for key in peer_own_keys(environ)} == {
        "apig_wsgi.full_event": event,
        "apig_wsgi.request_context": event["requestContext"],
        "apig_wsgi.context": CONTEXT,
        "apig_wsgi.multi_value_headers": True,
    }


def test_extra_keys_serverless_wsgi_for_a_lambda_authorizer() -> None:
    app = recording_wsgi_app()
    event = with_authorizer(
        make_event("GET", "/prod/items", source="apigw-rest", stage="prod"),
        {"principalId": "zoë"},
    )
    WSGIHandler(app, extra_keys="serverless-wsgi")(event, CONTEXT)
    environ = app.environ  # type: ignore[attr-defined]
    assert {key: environ[key] for key in peer_own_keys(environ)} == {
        "serverless.event": event,
        "serverless.context": CONTEXT,
        "serverless.authorizer": {"principalId": "zoë"},
        "REMOTE_USER": "zoÃ«",  # its UTF-8 bytes as latin-1, as PEP 3333 (and serverless-wsgi) give
    }


def test_mangum_keys_are_in_every_scope(mangum_thread: MangumThread) -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    event = make_event("GET", "/")
    mangum = mangum_thread.run(Mangum, app, lifespan="off")
    mangum_thread.run(mangum, copy.deepcopy(event), CONTEXT)
    with ASGIHandler(app, lifespan="off") as handler:
        handler(copy.deepcopy(event), CONTEXT)
    theirs, ours = scopes
    assert (ours["aws.event"], ours["aws.context"]) == (theirs["aws.event"], theirs["aws.context"])


# --------------------------------------------------------------------------- the guide's tables


def guide_table_entries(section: str) -> str:
    """The code spans of the table rows in the guide's section ``## section``, one per line."""
    text = GUIDE.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    rows = [line for line in text[start:end].splitlines() if line.startswith("|")]
    return "\n".join(span for row in rows for span in re.findall(r"`([^`]+)`", row))


def documented_by(peer: str, mangum_thread: MangumThread) -> set[str]:
    """Everything ``peer`` documents or sets: its options (read from its signature), the keys it
    adds (read from a real environ or scope), and what its README and source name besides."""
    event = make_event("GET", "/", multi_value_headers=True)
    if peer == "Mangum":
        scopes: list[dict[str, Any]] = []

        async def recording_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scopes.append(scope)
            await asgi_app(scope, receive, send)

        mangum = mangum_thread.run(Mangum, recording_app, lifespan="off")
        mangum_thread.run(mangum, event, CONTEXT)
        asgi_keys = {
            *("type", "asgi", "http_version", "method", "scheme", "path", "raw_path"),
            *("query_string", "root_path", "headers", "client", "server"),
        }
        options = set(inspect.signature(Mangum).parameters) - {"app"}
        return options | (set(scopes[0]) - asgi_keys) | {"state", "raw_path", "root_path"}
    app = recording_wsgi_app()
    if peer == "apig-wsgi":
        make_lambda_handler(app)(event, CONTEXT)
        options = set(inspect.signature(make_lambda_handler).parameters) - {"wsgi_app"}
        readme = {"apgi_wsgi.multi_value_headers"}  # its README's spelling of the key
        return options | peer_own_keys(app.environ) | readme  # type: ignore[attr-defined]
    serverless_wsgi.handle_request(app, event, CONTEXT)
    source = Path(serverless_wsgi.__file__).read_text()
    variables = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    warmers = set(re.findall(r'event\.get\("source"\) in \[([^\]]+)\]', source)[0].split('"')[1::2])
    readme = {"textMimeTypes", "app", "pythonBin", "packRequirements", "IS_OFFLINE"}
    readme |= {"wsgi_handler.handler", "exec", "command", "manage", "flask"}
    return peer_own_keys(app.environ) | variables | warmers | readme  # type: ignore[attr-defined]


@pytest.mark.parametrize("peer", ["Mangum", "apig-wsgi", "serverless-wsgi"])
def test_the_guide_has_a_row_for_everything_the_peer_documents(
    peer: str, mangum_thread: MangumThread
) -> None:
    entries = guide_table_entries(peer)
    names = documented_by(peer, mangum_thread)
    assert len(names) >= 6
    assert sorted(name for name in names if name not in entries) == []


# --------------------------------------------------------------------------- the peers' options


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("204 No Content", [])
    return []


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


TEXT_TYPES_ADVICE = (
    "use text_content_types, the whole list of response types sent as text: it replaces the "
    "defaults, and its entries are media types ('text/*', 'application/json', "
    "'application/*+json'), not prefixes ('text/'); to add a type, give "
    "[*DEFAULT_TEXT_CONTENT_TYPES, 'application/x-yaml'] (from alb_adapter.config)"
)
REFUSED: dict[str, str] = {
    "api_gateway_base_path": "ASGIHandler: api_gateway_base_path is Mangum's option: use "
    "base_path='/prefix'; but Mangum never applied it to ALB events, so behind ALB, if your "
    "routes already start with the prefix, set nothing",
    "text_mime_types": "ASGIHandler: text_mime_types is Mangum's option (and, as textMimeTypes, "
    "serverless-wsgi's setting): " + TEXT_TYPES_ADVICE,
    "exclude_headers": "ASGIHandler: exclude_headers is Mangum's option: no equivalent option: "
    "remove those response headers in the app (docs/switching.md has an ASGI middleware that "
    "does)",
    "custom_handlers": "ASGIHandler: custom_handlers is Mangum's option: no equivalent: ALB, API "
    "Gateway, Function URL and VPC Lattice events are recognised without it; give any other "
    "event to non_http_handler=<function (event, context) -> result>",
    "binary_support": "WSGIHandler: binary_support is apig-wsgi's option: not needed: a response "
    "body goes as text or base64 by its content type, behind every front door "
    "(text_content_types); remove it",
    "non_binary_content_type_prefixes": "WSGIHandler: non_binary_content_type_prefixes is "
    "apig-wsgi's option: " + TEXT_TYPES_ADVICE,
}


@pytest.mark.parametrize(
    "name",
    sorted(
        (set(inspect.signature(Mangum).parameters) - {"app", "lifespan"})
        | (set(inspect.signature(make_lambda_handler).parameters) - {"wsgi_app"})
    ),
)
def test_a_peers_option_is_refused_naming_its_equivalent(name: str) -> None:
    build: Callable[..., Any] = (
        (lambda **options: WSGIHandler(wsgi_app, **options))
        if name in inspect.signature(make_lambda_handler).parameters
        else (lambda **options: ASGIHandler(asgi_app, lifespan="off", **options))
    )
    with pytest.raises(TypeError) as caught:
        build(**{name: None})
    assert str(caught.value) == REFUSED[name]


def test_several_unknown_options_are_named_at_once() -> None:
    with pytest.raises(TypeError) as caught:
        WSGIHandler(wsgi_app, lifespan="on", trusted_hop=2)  # type: ignore[call-arg]
    assert str(caught.value) == (
        "WSGIHandler: lifespan is ASGIHandler's option: a WSGI app has no lifespan; "
        "trusted_hop is not an option (did you mean trusted_hops?); the options are base_path, "
        "default_host, extra_keys, health_check_path, identity, identity_required, "
        "max_response_bytes, multi_cookie, "
        "non_http_handler, raise_app_exceptions, text_content_types, trusted_hops"
    )


def test_a_known_option_with_a_wrong_type_keeps_its_own_message() -> None:
    with pytest.raises(TypeError) as caught:
        WSGIHandler(wsgi_app, trusted_hops="2")  # type: ignore[arg-type]
    assert str(caught.value) == "trusted_hops must be an int, got str '2'"


@pytest.mark.parametrize("prefixes", [DEFAULT_TEXT_MIME_TYPES, ["text/", "application/json"]])
def test_the_peers_prefix_lists_are_refused_with_the_pattern_to_write(prefixes: list[str]) -> None:
    with pytest.raises(ValueError, match=r"^text_content_types: ") as caught:
        WSGIHandler(wsgi_app, text_content_types=prefixes)
    assert str(caught.value) == (
        "text_content_types: 'text/' is a prefix, as other adapters write them; write "
        "'text/*'. The list replaces the defaults: to add types, start from "
        "DEFAULT_TEXT_CONTENT_TYPES (from alb_adapter.config)"
    )


# --------------------------------------------------------------------------- what no option changes


def test_before_switching_the_current_handler_runs_behind_the_local_alb() -> None:
    """The guide's first step: ``serve`` takes apig-wsgi's handler function as it is, and shows
    what clients get today (one of two cookies in single-value mode); after the switch, both."""
    app = Flask("two_cookies")

    @app.route("/login", methods=["POST"])
    def login() -> FlaskResponse:
        response = FlaskResponse("welcome")
        response.set_cookie("session", "s-1")
        response.set_cookie("csrf", "c-1")
        return response

    peer = make_lambda_handler(app)
    assert as_handler(peer, "lambda_function:handler") is peer
    cookies = []
    for handler in (peer, run_guide("switch: apig-wsgi", app=app)["handler"]):
        with ALBClient(handler) as client:
            cookies.append(client.post("/login").headers.get_list("set-cookie"))
    assert cookies == [
        ["csrf=c-1; Path=/"],
        ["session=s-1; Path=/", "csrf=c-1; Path=/"],
    ]


def test_before_switching_mangum_is_served_through_a_function(
    mangum_thread: MangumThread,
) -> None:
    """The guide's function around a Mangum object: ``serve`` takes it as a Lambda handler and
    calls it from worker threads, which have no event loop of their own. (The module is imported
    in Mangum's thread, which keeps whatever loop Mangum sets up there away from pytest's.)"""
    namespace = mangum_thread.run(run_guide, "first step: mangum", app=mangum_users_app())
    handler = namespace["handler"]
    assert as_handler(handler, "peer_handler:handler") is handler
    event = make_event("GET", "/document")
    with ThreadPoolExecutor(max_workers=2) as threads:
        answers = [threads.submit(handler, copy.deepcopy(event), CONTEXT).result() for _ in "ab"]
    namespace["loop"].close()
    assert [received(answer, event) for answer in answers] == [
        (200, [("content-type", "application/x-yaml")], b"openapi: 3.1.0\n")
    ] * 2


def test_mangum_base_path_behind_alb_set_nothing(mangum_thread: MangumThread) -> None:
    """Mangum never applied api_gateway_base_path to ALB events: the routes carry the prefix,
    and keep working with nothing set; base_path would make them 404."""

    def shop() -> FastAPI:
        app = FastAPI()

        @app.get("/shop/items")
        async def items() -> dict[str, list[str]]:
            return {"items": ["book"]}

        return app

    mangum = mangum_thread.run(Mangum, shop(), lifespan="off", api_gateway_base_path="/shop")
    event = make_event("GET", "/shop/items")
    peer = received(mangum_thread.run(mangum, copy.deepcopy(event), CONTEXT), event)
    with ASGIHandler(shop()) as as_guided, ASGIHandler(shop(), base_path="/shop") as mounted:
        ours = received(as_guided(copy.deepcopy(event), CONTEXT), event)
        assert received(mounted(copy.deepcopy(event), CONTEXT), event)[0] == 404
    assert ours == peer == (200, [("content-type", "application/json")], b'{"items":["book"]}')


def test_lifespan_runs_once_at_init_not_around_every_request(mangum_thread: MangumThread) -> None:
    theirs, ours = mangum_users_app(), mangum_users_app()
    mangum = mangum_thread.run(Mangum, theirs)
    handler = ASGIHandler(ours)
    assert ours.state.lifespan_log == ["startup"]  # before any request: during Lambda's init
    for _ in range(3):
        mangum_thread.run(mangum, make_event("GET", "/"), CONTEXT)
        handler(make_event("GET", "/"), CONTEXT)
    assert theirs.state.lifespan_log == ["startup", "shutdown"] * 3
    assert ours.state.lifespan_log == ["startup"]
    handler.close()
    assert ours.state.lifespan_log == ["startup", "shutdown"]


def test_client_address_behind_cloudfront_needs_trusted_hops_2() -> None:
    """CloudFront appends the client's address, ALB CloudFront's: apig-wsgi took the leftmost
    entry (forgeable: a client may send its own X-Forwarded-For), alb-adapter the one ALB
    appended unless told that CloudFront is trusted too."""
    event = make_event(
        "GET", "/", headers={"x-forwarded-for": "203.0.113.9"}, client_ip="130.176.1.1"
    )
    addresses = []
    theirs = recording_wsgi_app()
    make_lambda_handler(theirs)(copy.deepcopy(event), CONTEXT)
    addresses.append(theirs.environ["REMOTE_ADDR"])  # type: ignore[attr-defined]
    for trusted_hops in (1, 2):
        ours = recording_wsgi_app()
        WSGIHandler(ours, trusted_hops=trusted_hops)(copy.deepcopy(event), CONTEXT)
        addresses.append(ours.environ["REMOTE_ADDR"])  # type: ignore[attr-defined]
    assert addresses == ["203.0.113.9", "130.176.1.1", "203.0.113.9"]


def test_header_names_with_underscores_are_left_out_of_the_environ() -> None:
    keys = []
    for name in ("x_api_key", "x-api-key"):
        event = make_event("GET", "/", headers={name: "k-1"})
        theirs, ours = recording_wsgi_app(), recording_wsgi_app()
        make_lambda_handler(theirs)(copy.deepcopy(event), CONTEXT)
        WSGIHandler(ours)(event, CONTEXT)
        keys.append(
            (
                theirs.environ.get("HTTP_X_API_KEY"),  # type: ignore[attr-defined]
                ours.environ.get("HTTP_X_API_KEY"),  # type: ignore[attr-defined]
                ours.environ["aws.event"]["headers"][name],  # type: ignore[attr-defined]
            )
        )
    assert keys == [("k-1", None, "k-1"), ("k-1", "k-1", "k-1")]


def test_health_checks_have_no_remote_address() -> None:
    event = make_health_check_event("/")
    theirs, ours = recording_wsgi_app(), recording_wsgi_app()
    make_lambda_handler(theirs)(copy.deepcopy(event), CONTEXT)
    WSGIHandler(ours)(event, CONTEXT)
    assert theirs.environ["REMOTE_ADDR"] == "127.0.0.1"  # type: ignore[attr-defined]
    assert ours.environ["REMOTE_ADDR"] == ""  # type: ignore[attr-defined]


def test_django_health_checks_need_default_host_lambda(
    django_application: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = make_health_check_event("/")
    statuses = [serverless_wsgi.handle_request(django_application, copy.deepcopy(event), CONTEXT)]
    statuses += [
        WSGIHandler(django_application, extra_keys="serverless-wsgi", default_host=host)(
            copy.deepcopy(event), CONTEXT
        )
        for host in ("localhost", "lambda")  # the default, then the guide's
    ]
    assert [answer["statusCode"] for answer in statuses] == [200, 400, 200]
    assert "Invalid HTTP_HOST header: 'localhost'" in caplog.text  # Django's DisallowedHost


def test_serverless_wsgi_base_path_from_its_environment_variable(
    serverless_wsgi_switch: Switch, django_application: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_GATEWAY_BASE_PATH", "api/cats")
    ours = run_guide("switch: serverless-wsgi", application=django_application)["handler"]
    event = make_event("GET", "/api/cats/7?color=grey")
    peer = received(serverless_wsgi_switch.peer(copy.deepcopy(event), CONTEXT), event)
    assert received(ours(copy.deepcopy(event), CONTEXT), event) == peer
    assert json.loads(peer[2])["path_info"] == "/7"


def test_strip_stage_path_behind_cloudfront(
    django_application: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudFront in front of an execute-api URL whose origin path names the stage: clients
    never see the stage, which serverless-wsgi's STRIP_STAGE_PATH kept out of SCRIPT_NAME."""
    monkeypatch.setenv("STRIP_STAGE_PATH", "yes")
    monkeypatch.delenv("API_GATEWAY_BASE_PATH", raising=False)
    event = make_event("GET", "/prod/items", source="apigw-rest", stage="prod")
    peer = serverless_wsgi.handle_request(django_application, copy.deepcopy(event), CONTEXT)
    namespace = run_guide("recipe: without_stage_prefix", app=django_application)
    app = namespace["without_stage_prefix"](django_application)
    with WSGIHandler(app, extra_keys="serverless-wsgi") as handler:
        ours = handler(copy.deepcopy(event), CONTEXT)
    paths = [json.loads(str(answer["body"]))["path"] for answer in (peer, ours)]
    assert paths == ["/items", "/items"]


def test_warmers_need_a_non_http_handler(django_application: Any) -> None:
    warmer = {"source": "serverless-plugin-warmup"}
    assert serverless_wsgi.handle_request(django_application, warmer, CONTEXT) == {}
    with pytest.raises(UnsupportedEvent, match=r"a warmer ping \(serverless-plugin-warmup\)"):
        WSGIHandler(django_application)(warmer, CONTEXT)
    handler = WSGIHandler(django_application, non_http_handler=lambda event, context: {})
    assert handler(warmer, CONTEXT) == {}


def test_a_cookie_split_over_two_lines_reaches_the_app_whole() -> None:
    event = make_event(
        "GET", "/", headers=[("cookie", "a=1"), ("cookie", "b=2")], multi_value_headers=True
    )
    theirs, ours = recording_wsgi_app(), recording_wsgi_app()
    make_lambda_handler(theirs)(copy.deepcopy(event), CONTEXT)
    WSGIHandler(ours)(event, CONTEXT)
    assert theirs.environ["HTTP_COOKIE"] == "a=1,b=2"  # type: ignore[attr-defined]
    assert ours.environ["HTTP_COOKIE"] == "a=1; b=2"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- extra_keys itself


def oidc_claims(request: Request) -> dict[str, object]:
    """What another module might add: claims from ALB's OIDC header (unverified here)."""
    seen.append(request)
    data = request.header("x-amzn-oidc-data")
    if data is None:
        return {}
    payload = data.split(".")[1]
    return {"alb.oidc_claims": json.loads(base64.urlsafe_b64decode(payload + "=="))}


seen: list[Request] = []
OIDC_DATA = "e30." + base64.urlsafe_b64encode(b'{"email":"ada@example.com"}').decode() + ".sig"


@pytest.fixture
def no_requests_seen() -> Iterator[list[Request]]:
    seen.clear()
    yield seen
    seen.clear()


def test_extra_keys_adds_its_keys_to_every_environ(no_requests_seen: list[Request]) -> None:
    app = recording_wsgi_app()
    handler = WSGIHandler(app, extra_keys=oidc_claims)
    event = make_event("GET", "/me", headers={"x-amzn-oidc-data": OIDC_DATA})
    assert handler(event, CONTEXT)["statusCode"] == 200
    assert app.environ["alb.oidc_claims"] == {"email": "ada@example.com"}  # type: ignore[attr-defined]
    assert [(request.source, request.raw_path, request.event) for request in seen] == [
        ("alb", "/me", event)
    ]


def test_extra_keys_adds_its_keys_to_every_scope(no_requests_seen: list[Request]) -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        await asgi_app(scope, receive, send)

    with ASGIHandler(app, lifespan="off", extra_keys=oidc_claims) as handler:
        handler(make_event("GET", "/me", headers={"x-amzn-oidc-data": OIDC_DATA}), CONTEXT)
        handler(make_event("GET", "/public"), CONTEXT)
    assert [scope.get("alb.oidc_claims") for scope in scopes] == [
        {"email": "ada@example.com"},
        None,
    ]
    assert len(seen) == 2


def test_extra_keys_is_not_called_for_health_checks_the_adapter_answers(
    no_requests_seen: list[Request],
) -> None:
    handler = WSGIHandler(wsgi_app, extra_keys=oidc_claims, health_check_path="/health")
    assert handler(make_health_check_event("/health"), CONTEXT)["statusCode"] == 200
    assert seen == []


def test_extra_keys_failing_is_the_apps_failure(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Request) -> dict[str, object]:
        raise LookupError("no such claim")

    event = make_event("GET", "/me")
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        answer = read_response(WSGIHandler(wsgi_app, extra_keys=broken)(event, CONTEXT))
    assert (answer.status, answer.headers, answer.body) == (
        500,
        (("content-type", "text/plain; charset=utf-8"),),
        b"Internal Server Error\n",
    )
    logged = logged_above_debug(caplog.records)
    assert len(logged) == 1
    assert logged[0].startswith("GET /me: the application failed; answering 500\nTraceback")
    assert logged[0].endswith("LookupError: no such claim")
    with pytest.raises(LookupError, match="no such claim"):
        WSGIHandler(wsgi_app, extra_keys=broken, raise_app_exceptions=True)(event, CONTEXT)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            "mangum",
            ValueError,
            "extra_keys='mangum' is not needed: every scope already has Mangum's keys "
            "(aws.event, aws.context, and state from the lifespan); remove it",
        ),
        (
            "zappa",
            ValueError,
            "extra_keys: 'zappa' names no adapter whose keys are known; the names are "
            "'apig-wsgi', 'serverless-wsgi', or give a function (request) -> dict of keys",
        ),
        (
            {"apig_wsgi.full_event": None},
            TypeError,
            "extra_keys must be a function (request) -> dict of keys, or the name of an adapter "
            "whose keys to add ('apig-wsgi', 'serverless-wsgi'), got dict",
        ),
    ],
)
def test_extra_keys_refuses_what_it_cannot_run(
    value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        WSGIHandler(wsgi_app, extra_keys=value)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_the_guides_example_of_keys_of_your_own() -> None:
    app = recording_wsgi_app()
    event = make_event("GET", "/")
    run_guide("example: keys of your own", app=app)["handler"](event, CONTEXT)
    environ = app.environ  # type: ignore[attr-defined]
    assert (environ["lambda.event"], environ["lambda.context"]) == (event, CONTEXT)


def test_without_extra_keys_nothing_of_it_is_loaded() -> None:
    """An app that names no peer pays nothing for this module: not even its import."""
    program = """
import sys
from alb_adapter import WSGIHandler

def app(environ, start_response):
    start_response("204 No Content", [])
    return []

event = {
    "requestContext": {"elb": {"targetGroupArn": "arn"}}, "httpMethod": "GET", "path": "/",
    "queryStringParameters": {}, "headers": {}, "body": "", "isBase64Encoded": False,
}
loaded = []
for options in ({}, {"extra_keys": lambda request: {}}, {"extra_keys": "apig-wsgi"}):
    WSGIHandler(app, **options)(event, None)
    loaded.append("alb_adapter.compat" in sys.modules)
print(loaded)
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout == "[False, False, True]\n"
