"""The handlers' ``identity`` option: ALB's identity headers verified on every request.

Both handlers, both ALB header modes, tokens made as ALB makes them (alb_adapter/auth/testing.py).
A verified identity reaches the app under ``alb_adapter.identity``; a request without one is
answered 401 (503 when the key cannot be fetched) without the app when the identity is required,
and reaches the app with None when it is optional; health checks answered by
``health_check_path`` are not verified; behind any front door other than ALB the headers are not
trusted; and nothing of a token is ever logged above DEBUG. Verifiers get a fixed clock, so no test
depends on the time it runs at.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.auth import (
    IDENTITY_KEY,
    ALBIdentityVerifier,
    BadSignature,
    Identity,
    MissingIdentityHeader,
    TokenExpired,
    WrongSigner,
)
from alb_adapter.auth.testing import (
    EXAMPLE_CLIENT_ID,
    EXAMPLE_ISSUER,
    EXAMPLE_LOAD_BALANCER_ARN,
    ALBTokenSigner,
)
from alb_adapter.handler import BaseHandler
from alb_adapter.testing import LambdaContext, make_event, make_health_check_event, read_response
from tests.support import logged_above_debug

NOW = 1_800_000_000.0
OTHER_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:210987654321:loadbalancer/app/other/0123456789abcdef"
)
CLAIMS: dict[str, Any] = {
    "sub": "ada-0001",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "groups": ["admin"],
}
ACCESS_TOKEN = "access-token-for-ada"
PATH = "/account/me"

JSON = [("content-type", "application/json")]
TEXT = [("content-type", "text/plain; charset=utf-8")]
UNAUTHORIZED = (401, TEXT, b"Unauthorized\n")
UNAVAILABLE = (503, TEXT, b"Service Unavailable: the sign-in could not be checked.\n")


@pytest.fixture(scope="module")
def signer() -> ALBTokenSigner:
    return ALBTokenSigner()


@pytest.fixture
def verifier(signer: ALBTokenSigner) -> ALBIdentityVerifier:
    return signer.verifier(clock=lambda: NOW)


@pytest.fixture(params=["wsgi", "asgi"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def seen(identity: Identity | None) -> dict[str, Any] | None:
    """What the test apps answer about the identity they were given."""
    if identity is None:
        return None
    return {
        "subject": identity.subject,
        "email": identity.email,
        "claims": identity.claims,
        "access_token": identity.access_token,
    }


class App:
    """A WSGI or an ASGI app that records each identity it is called with and answers it as JSON
    (with the ``shop.tenant`` key, when an ``extra_keys`` function added one)."""

    def __init__(self) -> None:
        self.calls: list[Identity | None] = []

    def answer(self, keys: dict[str, Any]) -> bytes:
        identity = keys[IDENTITY_KEY]
        self.calls.append(identity)
        body: dict[str, Any] = {"identity": seen(identity)}
        if "shop.tenant" in keys:
            body["tenant"] = keys["shop.tenant"]
        return json.dumps(body).encode()

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = self.answer(environ)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = self.answer(scope)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def build(protocol: str, app: App, **options: Any) -> BaseHandler:
    if protocol == "wsgi":
        return WSGIHandler(app.wsgi, **options)
    return ASGIHandler(app.asgi, lifespan="off", **options)


def ask(
    handler: BaseHandler,
    headers: dict[str, str],
    multi: bool = False,
    *,
    source: str = "alb",
) -> tuple[int, list[tuple[str, str]], Any]:
    """(status, headers, body) as the client receives them; a JSON body parsed."""
    event = make_event("GET", PATH, headers=headers, multi_value_headers=multi, source=source)
    answer = read_response(
        handler(event, LambdaContext()), multi_value_headers=multi, source=source
    )
    body: Any = answer.json() if answer.headers == tuple(JSON) else answer.body
    return answer.status, list(answer.headers), body


def signed_in(signer: ALBTokenSigner, **token_options: Any) -> dict[str, str]:
    token_options.setdefault("now", NOW)
    return signer.headers(CLAIMS, access_token=ACCESS_TOKEN, **token_options)


ADA = {
    "subject": "ada-0001",
    "email": "ada@example.com",
    "claims": CLAIMS,
    "access_token": ACCESS_TOKEN,
}


# --- required (the default) -----------------------------------------------------------------


def test_a_verified_identity_reaches_the_app(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier, protocol: str, multi: bool
) -> None:
    app = App()
    with build(protocol, app, identity=verifier) as handler:
        answer = ask(handler, signed_in(signer), multi)

    assert answer == (200, JSON, {"identity": ADA})
    assert app.calls == [
        Identity(
            subject="ada-0001",
            claims=CLAIMS,
            email="ada@example.com",
            signer=EXAMPLE_LOAD_BALANCER_ARN,
            issuer=EXAMPLE_ISSUER,
            client_id=EXAMPLE_CLIENT_ID,
            expires_at=int(NOW) + 120,
            access_token=ACCESS_TOKEN,
        )
    ]


def tampered(signer: ALBTokenSigner) -> dict[str, str]:
    """Ada's headers with the payload of Grace's token: the signature no longer matches."""
    headers = signed_in(signer)
    header, _, signature = headers["x-amzn-oidc-data"].split(".")
    grace = signer.token({**CLAIMS, "sub": "grace-0002"}, now=NOW).split(".")[1]
    return {**headers, "x-amzn-oidc-data": f"{header}.{grace}.{signature}"}


# (name, headers for the request, the error logged)
REFUSED: list[tuple[str, Callable[[ALBTokenSigner], dict[str, str]], type[Exception], str]] = [
    (
        "missing",
        lambda signer: {},
        MissingIdentityHeader,
        "the request has no x-amzn-oidc-data header: no ALB authenticate action signed it in",
    ),
    (
        "expired",
        lambda signer: signed_in(signer, expires_at=NOW - 60),
        TokenExpired,
        "the token has expired",
    ),
    (
        "tampered",
        tampered,
        BadSignature,
        "the token's signature does not match its header and payload",
    ),
    (
        "another-key",  # a forger's key under the genuine kid
        lambda signer: signed_in(ALBTokenSigner(kid=signer.kid)),
        BadSignature,
        "the token's signature does not match its header and payload",
    ),
    (
        "another-load-balancer",
        lambda signer: signed_in(ALBTokenSigner(signer=OTHER_ARN, kid=signer.kid)),
        WrongSigner,
        "the token was not signed by one of the configured load balancers",
    ),
]


@pytest.mark.parametrize(
    ("headers", "error", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_request_without_a_verified_identity_is_refused_without_the_app(
    signer: ALBTokenSigner,
    verifier: ALBIdentityVerifier,
    protocol: str,
    multi: bool,
    caplog: pytest.LogCaptureFixture,
    headers: Callable[[ALBTokenSigner], dict[str, str]],
    error: type[Exception],
    message: str,
) -> None:
    app = App()
    caplog.set_level(logging.DEBUG, logger="alb_adapter")
    with build(protocol, app, identity=verifier) as handler:
        answer = ask(handler, headers(signer), multi)

    assert answer == UNAUTHORIZED
    assert app.calls == []
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        (
            "INFO",
            f"GET {PATH}: answering 401 without calling the app: {error.__name__}: {message}",
        )
    ]


def test_the_key_endpoint_out_of_reach_is_a_503_without_the_app(
    protocol: str, multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = ALBTokenSigner(kid=f"test-{uuid.uuid4()}")  # fetched keys are kept per process
    app = App()
    with build(protocol, app, identity=unreachable_verifier()) as handler:
        answer = ask(handler, signed_in(stranger), multi)

    assert answer == UNAVAILABLE
    assert app.calls == []
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith(
        f"GET {PATH}: answering 503 without calling the app: KeyFetchFailed: the key endpoint "
        "127.0.0.1:"
    )


def unreachable_verifier(**options: Any) -> ALBIdentityVerifier:
    """A verifier whose key endpoint is a port nothing listens on (refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return ALBIdentityVerifier(
        EXAMPLE_LOAD_BALANCER_ARN,
        key_endpoint=f"http://127.0.0.1:{port}",
        clock=lambda: NOW,
        **options,
    )


def test_a_key_source_that_fails_unexpectedly_is_a_500_without_the_app(
    signer: ALBTokenSigner, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_key_source(kid: str) -> str:
        raise RuntimeError("the parameter store is down")

    verifier = signer.verifier(clock=lambda: NOW, key_source=broken_key_source)
    app = App()
    with build(protocol, app, identity=verifier) as handler:
        answer = ask(handler, signed_in(signer))

    assert answer == (500, TEXT, b"Internal Server Error\n")
    assert app.calls == []
    [record] = caplog.records
    assert (record.levelname, record.getMessage()) == (
        "ERROR",
        f"GET {PATH}: checking the ALB identity failed; answering 500 without calling the app",
    )
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "the parameter store is down"

    # raise_app_exceptions (for tests) shows the failure itself.
    with (
        build(protocol, app, identity=verifier, raise_app_exceptions=True) as handler,
        pytest.raises(RuntimeError, match="the parameter store is down"),
    ):
        ask(handler, signed_in(signer))
    assert app.calls == []


# --- optional -------------------------------------------------------------------------------


def test_optional_calls_the_app_with_the_identity_or_none(
    signer: ALBTokenSigner,
    verifier: ALBIdentityVerifier,
    protocol: str,
    multi: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    caplog.set_level(logging.DEBUG, logger="alb_adapter")
    with build(protocol, app, identity=verifier, identity_required=False) as handler:
        answers = [
            ask(handler, headers, multi) for headers in (signed_in(signer), {}, tampered(signer))
        ]

    assert answers == [
        (200, JSON, {"identity": ADA}),
        (200, JSON, {"identity": None}),
        (200, JSON, {"identity": None}),
    ]
    assert [None if call is None else call.subject for call in app.calls] == [
        "ada-0001",
        None,
        None,
    ]
    # Nobody signed in is what optional means (DEBUG); a token that does not verify is reported.
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        (
            "DEBUG",
            f"GET {PATH}: calling the app without an identity: MissingIdentityHeader: the "
            "request has no x-amzn-oidc-data header: no ALB authenticate action signed it in",
        ),
        (
            "INFO",
            f"GET {PATH}: calling the app without an identity: BadSignature: the token's "
            "signature does not match its header and payload",
        ),
    ]


def test_optional_calls_the_app_with_none_when_the_key_is_out_of_reach(
    protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = ALBTokenSigner(kid=f"test-{uuid.uuid4()}")
    app = App()
    verifier = unreachable_verifier()
    with build(protocol, app, identity=verifier, identity_required=False) as handler:
        answer = ask(handler, signed_in(stranger))

    assert answer == (200, JSON, {"identity": None})
    assert app.calls == [None]
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith(
        f"GET {PATH}: calling the app without an identity: KeyFetchFailed: the key endpoint "
    )


# --- what is and is not verified -------------------------------------------------------------


def test_health_checks_answered_by_health_check_path_are_not_verified(
    verifier: ALBIdentityVerifier, protocol: str, multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = App()
    caplog.set_level(logging.DEBUG, logger="alb_adapter")
    with build(protocol, app, identity=verifier, health_check_path="/health") as handler:
        event = make_health_check_event("/health", multi_value_headers=multi)
        answer = read_response(handler(event, LambdaContext()), multi_value_headers=multi)

    # A health check carries no identity: verified, it would have been refused (and logged).
    assert (answer.status, list(answer.headers), answer.body) == (200, TEXT, b"OK\n")
    assert (app.calls, caplog.records) == ([], [])


def test_a_health_check_the_app_would_answer_is_verified_like_any_request(
    verifier: ALBIdentityVerifier, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Anyone can send ALB's user agent: it exempts nothing. The log says what to configure.
    app = App()
    caplog.set_level(logging.INFO, logger="alb_adapter")
    with build(protocol, app, identity=verifier, health_check_path="/health") as handler:
        answer = read_response(handler(make_health_check_event("/status"), LambdaContext()))

    assert (answer.status, list(answer.headers), answer.body) == UNAUTHORIZED
    assert app.calls == []
    assert [record.getMessage() for record in caplog.records] == [
        "GET /status: answering 401 without calling the app: MissingIdentityHeader: the request "
        "has no x-amzn-oidc-data header: no ALB authenticate action signed it in (an ALB health "
        "check: set health_check_path to the target group's health-check path, so that the "
        "adapter answers it)"
    ]


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("apigw-rest", "API Gateway REST API"),
        ("apigw-http-v2", "API Gateway HTTP API (payload 2.0)"),
        ("function-url", "Lambda Function URL"),
        ("vpc-lattice-v2", "VPC Lattice (V2)"),
    ],
)
def test_identity_headers_through_another_front_door_are_not_trusted(
    signer: ALBTokenSigner,
    verifier: ALBIdentityVerifier,
    protocol: str,
    caplog: pytest.LogCaptureFixture,
    source: str,
    label: str,
) -> None:
    # A genuine, unexpired token: copied from an ALB request, it would verify anywhere.
    app = App()
    caplog.set_level(logging.INFO, logger="alb_adapter")
    with build(protocol, app, identity=verifier) as handler:
        refused = ask(handler, signed_in(signer), source=source)
    with build(protocol, app, identity=verifier, identity_required=False) as handler:
        anonymous = ask(handler, signed_in(signer), source=source)

    assert (refused, anonymous) == (UNAUTHORIZED, (200, JSON, {"identity": None}))
    assert app.calls == [None]
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        (
            "INFO",
            f"GET {PATH}: answering 401 without calling the app: UntrustedFrontDoor: the request "
            f"came through {label}, which passes on the client's own x-amzn-oidc-* headers: only "
            "ALB's can be trusted",
        )
    ]


def test_the_identity_comes_before_the_extra_keys(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier, protocol: str
) -> None:
    def tenant(request: Any) -> dict[str, object]:
        return {"shop.tenant": "eu"}

    app = App()
    with build(protocol, app, identity=verifier, extra_keys=tenant) as handler:
        answer = ask(handler, signed_in(signer))
    assert answer == (200, JSON, {"identity": ADA, "tenant": "eu"})

    def impostor(request: Any) -> dict[str, object]:
        return {IDENTITY_KEY: None}  # the app's own function has the last word, as documented

    with build(protocol, app, identity=verifier, extra_keys=impostor) as handler:
        assert ask(handler, signed_in(signer)) == (200, JSON, {"identity": None})


# --- the key fetch and the ASGI loop ---------------------------------------------------------


def test_asgi_fetches_the_key_before_its_loop_runs(signer: ALBTokenSigner) -> None:
    fetches: list[tuple[bool, bool]] = []  # (a loop was running, the handler's loop was running)
    handler_loop: list[asyncio.AbstractEventLoop] = []

    def key_source(kid: str) -> str:
        try:
            asyncio.get_running_loop()
            running = True
        except RuntimeError:
            running = False
        fetches.append((running, handler_loop[0].is_running()))
        return signer.public_key_pem

    verifier = signer.verifier(clock=lambda: NOW, key_source=key_source)
    app = App()
    with ASGIHandler(app.asgi, lifespan="off", identity=verifier) as handler:
        handler_loop.append(handler.loop)
        answers = [ask(handler, signed_in(signer)) for _ in range(2)]

    assert answers == [(200, JSON, {"identity": ADA})] * 2
    assert fetches == [(False, False)]  # once: the key is kept for its kid


# --- logs ------------------------------------------------------------------------------------


def test_nothing_of_a_token_is_logged_above_debug(
    signer: ALBTokenSigner,
    verifier: ALBIdentityVerifier,
    protocol: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stranger = ALBTokenSigner(kid=f"test-{uuid.uuid4()}")
    requests: list[tuple[ALBIdentityVerifier, dict[str, str], str]] = [
        (verifier, signed_in(signer), "alb"),
        (verifier, signed_in(signer, expires_at=NOW - 60), "alb"),
        (verifier, tampered(signer), "alb"),
        (verifier, signed_in(ALBTokenSigner(kid=signer.kid)), "alb"),
        (verifier, signed_in(ALBTokenSigner(signer=OTHER_ARN, kid=signer.kid)), "alb"),
        (verifier, {**signed_in(signer), "x-amzn-oidc-data": "not.a.token=="}, "alb"),
        (verifier, signed_in(signer), "apigw-rest"),
        (unreachable_verifier(), signed_in(stranger), "alb"),
    ]
    caplog.set_level(logging.DEBUG)
    secrets: set[str] = {ACCESS_TOKEN, *map(str, CLAIMS.values()), "grace-0002", "admin"}
    for required in (True, False):
        for request_verifier, headers, source in requests:
            secrets.add(headers["x-amzn-oidc-data"])
            secrets.update(part for part in headers["x-amzn-oidc-data"].split(".") if len(part) > 4)
            options = {"identity": request_verifier, "identity_required": required}
            with build(protocol, App(), **options) as handler:
                ask(handler, headers, source=source)

    logged = logged_above_debug(caplog.records)
    assert len(logged) == 13  # each failure once, but the optional UntrustedFrontDoor (DEBUG)
    assert [line for line in logged if any(secret in line for secret in secrets)] == []


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"identity": EXAMPLE_LOAD_BALANCER_ARN},
            TypeError,
            "identity must be an ALBIdentityVerifier (from alb_adapter.auth), built once at "
            "import: identity=ALBIdentityVerifier(LOAD_BALANCER_ARN); got str",
        ),
        (
            {"identity_required": "yes"},
            TypeError,
            "identity_required must be True or False, got 'yes'",
        ),
        (
            {"identity_required": False},
            ValueError,
            "identity_required=False needs identity=ALBIdentityVerifier(...): without a verifier "
            "no identity is checked, required or not",
        ),
    ],
)
def test_identity_options_are_checked_when_the_handler_is_built(
    protocol: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        build(protocol, App(), **options)
    assert str(caught.value) == message


def test_without_the_option_nothing_of_it_runs_or_is_imported() -> None:
    """The headers reach the app untouched, no identity key is added, and alb_adapter.auth is
    never imported: the option costs a handler without it one None check."""
    script = (
        "import json, sys\n"
        "from alb_adapter import WSGIHandler\n"
        "from alb_adapter.testing import LambdaContext, make_event, read_response\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'application/json')])\n"
        "    keys = {'identity': 'alb_adapter.identity' in environ,\n"
        "            'data': environ.get('HTTP_X_AMZN_OIDC_DATA')}\n"
        "    return [json.dumps(keys).encode()]\n"
        "event = make_event('GET', '/', headers={'x-amzn-oidc-data': 'a.b.c'})\n"
        "print(read_response(WSGIHandler(app)(event, LambdaContext())).json())\n"
        "print(sorted(m for m in sys.modules if m.startswith(('alb_adapter.auth', "
        "'cryptography'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "{'identity': False, 'data': 'a.b.c'}\n[]\n",
        "",
    )


# --- through the frameworks' test clients ----------------------------------------------------


def test_a_flask_view_reads_the_identity_from_its_environ(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    from flask import Flask, request

    from alb_adapter.testing.flask import use_alb

    app = Flask(__name__)

    @app.get(PATH)
    def me() -> dict[str, Any]:
        identity = request.environ[IDENTITY_KEY]
        return {"sub": identity.subject, "name": identity.claims["name"]}

    use_alb(app, multi_value_headers=True, identity=verifier)
    client = app.test_client()
    signed = client.get(PATH, headers=signed_in(signer))
    anonymous = client.get(PATH)
    assert (signed.status_code, signed.get_json()) == (
        200,
        {"sub": "ada-0001", "name": "Ada Lovelace"},
    )
    assert (anonymous.status_code, anonymous.content_type, anonymous.data) == (
        401,
        "text/plain; charset=utf-8",
        b"Unauthorized\n",
    )


def test_a_starlette_endpoint_reads_the_identity_from_its_scope(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from alb_adapter.testing.starlette import TestClient

    def me(request: Request) -> JSONResponse:
        identity = request.scope[IDENTITY_KEY]
        return JSONResponse({"sub": None if identity is None else identity.subject})

    app = Starlette(routes=[Route(PATH, me)])
    with TestClient(app, identity=verifier, identity_required=False) as client:
        signed = client.get(PATH, headers=signed_in(signer))
        anonymous = client.get(PATH)
    assert [(signed.status_code, signed.json()), (anonymous.status_code, anonymous.json())] == [
        (200, {"sub": "ada-0001"}),
        (200, {"sub": None}),
    ]
