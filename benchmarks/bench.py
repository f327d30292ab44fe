#!/usr/bin/env python3
"""alb_adapter against its peers and against the floor, side by side in one process run.

    python benchmarks/bench.py --runs 3   # the judged run: three full runs, writes RESULTS.md
    python benchmarks/bench.py            # one full run (a few minutes)
    python benchmarks/bench.py --quick    # under a minute
    python benchmarks/bench.py --smoke    # a few seconds: correctness and plumbing only

For every app (raw WSGI, raw ASGI, Flask, FastAPI, Django WSGI, Django ASGI) and every case (GET
single- and multi-value, POST 64 KiB JSON, POST 512 KiB binary, GET 512 KiB image, three
Set-Cookie) on ALB's events, and for the rows API_GATEWAY_ROWS names on API Gateway's (HTTP API
payload 2.0, REST API payload 1.0), it first checks each adapter's answer, then times them
round-robin with the floor (the app called with a pre-built environ/scope) and floor + codec (the
floor plus the body base64/UTF-8 work every adapter must do). Cold start is measured in fresh
processes. With ``--runs N`` the whole measurement is repeated N times in this process; every row
reports the median of the N runs' medians, and the budget is judged on those.
See benchmarks/README.md for how to read the output.
"""

# ruff: noqa: PLC0415  (peers and frameworks are optional: imported where they are used)
from __future__ import annotations

import argparse
import asyncio
import binascii
import copy
import gc
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from base64 import b64decode
from dataclasses import asdict, dataclass, field
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):  # bench_apps, and alb_adapter from this checkout
    if _path not in sys.path:
        sys.path.insert(0, _path)

import bench_apps  # noqa: E402

from alb_adapter.emulator.services import find_service  # noqa: E402
from alb_adapter.sources.alb.balancer import EXAMPLE_HOST  # noqa: E402
from alb_adapter.testing import LambdaContext, make_event  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from bench_apps import ASGIApp, WSGIApp

    Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# --------------------------------------------------------------------------- modes


@dataclass(frozen=True)
class Mode:
    name: str
    seconds_per_group: float  # timing budget for one (app, case) group, all runners together
    min_samples: int  # per runner, whatever the time budget
    import_runs: int  # fresh processes per module for -X importtime, per run
    first_response_runs: int  # fresh processes per cold-start configuration, per run


MODES = {
    "full": Mode("full", 4.0, 300, 9, 15),
    "quick": Mode("quick", 0.3, 30, 5, 5),
    "smoke": Mode("smoke", 0.0, 3, 1, 1),
}
JUDGED_RUNS = 3  # the budget is judged on the median of this many full runs

# --------------------------------------------------------------------------- cases

# What a browser sends to a JSON API behind ALB; make_event adds Host, X-Forwarded-For/-Proto/-Port
# and X-Amzn-Trace-Id as ALB does: 16 headers in all.
CLIENT_HEADERS = [
    (
        "user-agent",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    ),
    ("accept", "application/json, text/plain, */*"),
    ("accept-language", "en-GB,en;q=0.9,fr;q=0.8"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    (
        "cookie",
        "session=8f14e45fceea167a5a36dedd4bea2543; csrftoken=Q9vX2mK7pL4sT8wZ1bN6cR3dF5gH0jYe; "
        "theme=dark",
    ),
    ("referer", "https://example.com/shop/running?size=42"),
    ("sec-ch-ua", '"Chromium";v="126", "Google Chrome";v="126", "Not-A.Brand";v="8"'),
    ("sec-ch-ua-platform", '"macOS"'),
    ("sec-fetch-dest", "empty"),
    ("sec-fetch-mode", "cors"),
    ("sec-fetch-site", "same-origin"),
]
# As the client sent it; ALB passes it on still encoded. A decode/re-encode round trip that loses
# information, or a double encoding, changes what parse_qsl reads from it.
QUERY = "q=trail+running&size=42&color=dark%20blue&sort=price%3Aasc&page=2&ref=caf%C3%A9"
TRACE_ID = "Root=1-66686b00-0123456789abcdef01234567"

# The front doors whose events are measured: ALB's rows are every app and case, API Gateway's the
# rows API_GATEWAY_ROWS names. An API Gateway event is built by the emulator's Service for that
# front door (alb_adapter/emulator/services.py), as the real service builds it.
ALB = "alb"
API_GATEWAY_SOURCES = ("apigw-http-v2", "apigw-rest")
SOURCES = (ALB, *API_GATEWAY_SOURCES)


def source_label(source: str) -> str:
    """The front door's name in the report: ``ALB``, ``API Gateway REST API``..."""
    return find_service(source).label


# The (app, case) rows measured on each API Gateway front door, chosen to keep the judged run
# within a few minutes of the ALB-only one. What differs from ALB is how an adapter reads the event
# and writes the answer, and the raw apps show that with the least noise; Flask and FastAPI show it
# under a framework. `get` reads the headers, the cookies (payload 2.0: the `cookies` field) and
# the query (payload 1.0: rebuilt from the decoded maps); `cookies` writes three Set-Cookie
# (payload 2.0: the `cookies` field; 1.0: `multiValueHeaders`); `get-image` writes a 512 KiB
# base64 answer (budget line 3). Left out: the multi-value cases (ALB's target-group setting; a
# payload 1.0 event always has both maps), `post-json` and `post-bin` (the body codec is ALB's;
# and the Service builds a REST request body as an API without binaryMediaTypes sends it, which
# corrupts a binary upload before any adapter sees it), and Django, whose ALB rows run the same
# adapter code.
API_GATEWAY_ROWS: dict[str, tuple[str, ...]] = {
    "raw-wsgi": ("get", "cookies", "get-image"),
    "raw-asgi": ("get", "cookies", "get-image"),
    "flask": ("get",),
    "fastapi": ("get",),
}


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    source: str  # the front door whose event this is: ALB or one of API_GATEWAY_SOURCES
    event: dict[str, Any]
    query: str  # the raw query the client sent, which the app must read back (after decoding)
    status: int
    base64: bool  # the isBase64Encoded the answer must carry
    multi: bool
    body: bytes | None  # what the app must receive (POST)


def _event(
    source: str,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    content_type: str | None = None,
    multi: bool = False,
) -> dict[str, Any]:
    headers = list(CLIENT_HEADERS)
    if content_type:
        headers.append(("content-type", content_type))
    if source == ALB:
        return make_event(
            method,
            path,
            query=query or None,
            headers=headers,
            body=body,
            multi_value_headers=multi,
            trace_id=TRACE_ID,
        )
    # Sent to a custom domain, the same host as ALB's events: the URL names no stage, so the path
    # reaches every adapter (and the floor) as it reaches them behind ALB.
    target = f"{path}?{query}" if query else path
    return find_service(source).event(method, target, headers, body, host=EXAMPLE_HOST)


def build_cases(source: str = ALB) -> list[Case]:
    """The cases on ``source``'s events: all seven on ALB's; on an API Gateway's, the ones some
    app has in API_GATEWAY_ROWS (never a multi-value one, a mode API Gateway does not have)."""
    wanted = None if source == ALB else {key for keys in API_GATEWAY_ROWS.values() for key in keys}
    cases: list[Case] = []

    def add(
        key: str,
        title: str,
        method: str,
        path: str,
        *,
        status: int = 200,
        query: str = "",
        body: bytes = b"",
        content_type: str | None = None,
        base64: bool = False,
        multi: bool = False,
    ) -> None:
        if wanted is not None and key not in wanted:
            return
        event = _event(
            source, method, path, query=query, body=body, content_type=content_type, multi=multi
        )
        cases.append(
            Case(key, title, source, event, query, status, base64, multi, body if body else None)
        )

    orders, upload = bench_apps.ORDERS_JSON, bench_apps.UPLOAD
    add("get", "GET, 16 headers + query, single-value", "GET", "/api/items", query=QUERY)
    add(
        "get-multi",
        "GET, 16 headers + query, multi-value",
        "GET",
        "/api/items",
        query=QUERY,
        multi=True,
    )
    add(
        "post-json",
        "POST 64 KiB JSON",
        "POST",
        "/api/items",
        status=201,
        body=orders,
        content_type="application/json",
    )
    add(
        "post-bin",
        "POST 512 KiB binary (base64)",
        "POST",
        "/api/upload",
        body=upload,
        content_type="application/octet-stream",
    )
    add("get-image", "GET 512 KiB image (base64)", "GET", "/static/photo.png", base64=True)
    add("cookies", "GET, 3 Set-Cookie, single-value", "GET", "/account/login")
    add("cookies-multi", "GET, 3 Set-Cookie, multi-value", "GET", "/account/login", multi=True)
    return cases


BINARY_CASES = ("post-bin", "get-image")

# --------------------------------------------------------------------------- environ and scope


def event_headers(event: dict[str, Any]) -> list[tuple[str, str]]:
    if event.get("multiValueHeaders") is not None:
        return [(k, v) for k, vs in event["multiValueHeaders"].items() for v in vs]
    return list((event.get("headers") or {}).items())


def event_query(event: dict[str, Any]) -> str:
    """The query string as the client sent it (ALB passes keys and values on undecoded)."""
    if event.get("multiValueHeaders") is not None:
        params = event.get("multiValueQueryStringParameters") or {}
        return "&".join(f"{k}={v}" for k, vs in params.items() for v in vs)
    return "&".join(f"{k}={v}" for k, v in (event.get("queryStringParameters") or {}).items())


def decoded_body(event: dict[str, Any]) -> bytes:
    text = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return binascii.a2b_base64(text)
    return bytes(text.encode("utf-8"))


@dataclass(frozen=True)
class EventRequest:
    """The request an event carries, in one shape whatever the front door: what the floor's
    environ and scope are built from."""

    method: str
    path: str  # as on the wire, percent-encoded
    query: str  # as on the wire
    headers: list[tuple[str, str]]  # lowercase names, every value


def event_request(case: Case) -> EventRequest:
    """Read once, before timing: the floor pays for none of it."""
    event = case.event
    if case.source == "apigw-http-v2":
        http = event["requestContext"]["http"]
        headers = list(event["headers"].items())
        if event.get("cookies"):  # an HTTP API takes the Cookie header apart into `cookies`
            headers.append(("cookie", "; ".join(event["cookies"])))
        # An HTTP API sends the path decoded and the query as the client sent it.
        return EventRequest(
            http["method"], quote(event["rawPath"]), event["rawQueryString"], headers
        )
    if case.source == "apigw-rest":
        multi = event.get("multiValueHeaders") or {}
        headers = [(name.lower(), value) for name, values in multi.items() for value in values]
        # A REST API sends the query decoded; form-encoded again, it reads as the client's.
        params = event.get("multiValueQueryStringParameters") or {}
        return EventRequest(
            event["httpMethod"], event["path"], urlencode(params, doseq=True), headers
        )
    return EventRequest(
        event["httpMethod"], event["path"], event_query(event), event_headers(event)
    )


def environ_template(case: Case) -> dict[str, Any]:
    """A correct PEP 3333 environ for the event, built once; per call only wsgi.input changes."""
    request = event_request(case)
    headers = request.headers
    last = dict(headers)
    host = last.get("host", "localhost").partition(":")[0]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(request.path, encoding="latin-1"),
        "QUERY_STRING": request.query,
        "SERVER_NAME": host,
        "SERVER_PORT": last.get("x-forwarded-port", "443"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": last.get("x-forwarded-for", "").rpartition(",")[2].strip(),
        "CONTENT_LENGTH": str(len(decoded_body(case.event))),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": last.get("x-forwarded-proto", "https"),
        "wsgi.errors": sys.stderr,
        "wsgi.input_terminated": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name != "content-length":
            key = "HTTP_" + name.upper().replace("-", "_")
            sep = "; " if key == "HTTP_COOKIE" else ", "
            environ[key] = environ[key] + sep + value if key in environ else value
    return environ


def scope_template(case: Case) -> dict[str, Any]:
    """A correct ASGI HTTP scope for the event, built once; per call it is shallow-copied."""
    request = event_request(case)
    headers = request.headers
    last = dict(headers)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": last.get("x-forwarded-proto", "https"),
        "path": unquote(request.path),
        "raw_path": request.path.encode("ascii"),
        "query_string": request.query.encode("ascii"),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": (last.get("x-forwarded-for", "").rpartition(",")[2].strip(), 0),
        "server": (last.get("host", "localhost"), int(last.get("x-forwarded-port", "443"))),
    }


# --------------------------------------------------------------------------- the floor


RawResponse = tuple[int, list[tuple[str, str]], bytes]


def call_wsgi(app: WSGIApp, template: dict[str, Any], body: bytes) -> RawResponse:
    """The least a WSGI server does: fresh environ and input, start_response, join, close()."""
    environ = template.copy()
    environ["wsgi.input"] = BytesIO(body)
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = (status, headers)
        return _no_write

    result = app(environ, start_response)
    try:
        out = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(started[0][:3]), started[1], out


def _no_write(data: bytes) -> None:
    raise RuntimeError("the benchmark apps do not use write()")


def call_asgi(
    loop: asyncio.AbstractEventLoop, app: ASGIApp, template: dict[str, Any], body: bytes
) -> RawResponse:
    """The least an ASGI server does: a scope copy, one http.request, collect the sends."""
    scope = template.copy()
    scope["state"] = {}
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await loop.create_future()  # the client waits; apps that listen get cancelled instead
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    loop.run_until_complete(app(scope, receive, send))
    return status, headers, b"".join(chunks)


def encode_body(body: bytes, base64: bool) -> str:
    """The response half of the codec, by the fastest stdlib path."""
    if base64:
        return binascii.b2a_base64(body, newline=False).decode("ascii")
    return body.decode("utf-8")


# --------------------------------------------------------------------------- apps and adapters


@dataclass
class App:
    key: str
    title: str
    kind: str  # "wsgi" | "asgi"
    app: Any
    adapters: dict[str, Handler]  # label -> handler(event, context); only correct-capable ones
    missing: list[str]  # adapters that could not be built (package not installed), with reason
    loop: asyncio.AbstractEventLoop | None = None


WSGI_ADAPTERS = ("alb_adapter", "apig-wsgi", "serverless-wsgi")
ASGI_ADAPTERS = ("alb_adapter", "Mangum off", "Mangum auto")
PEER_PACKAGES = {
    "apig-wsgi": "apig-wsgi",
    "serverless-wsgi": "serverless-wsgi",
    "Mangum off": "mangum",
    "Mangum auto": "mangum",
}


def wsgi_adapters(app: WSGIApp) -> tuple[dict[str, Handler], list[str]]:
    from alb_adapter import WSGIHandler

    adapters: dict[str, Handler] = {"alb_adapter": WSGIHandler(app)}
    missing: list[str] = []
    try:
        from apig_wsgi import make_lambda_handler

        adapters["apig-wsgi"] = make_lambda_handler(app, binary_support=True)
    except ImportError as exc:
        missing.append(f"apig-wsgi ({exc})")
    try:
        import serverless_wsgi  # type: ignore[import-untyped]

        def serverless(event: dict[str, Any], context: Any) -> dict[str, Any]:
            answer: dict[str, Any] = serverless_wsgi.handle_request(app, event, context)
            return answer

        adapters["serverless-wsgi"] = serverless
    except ImportError as exc:
        missing.append(f"serverless-wsgi ({exc})")
    return adapters, missing


def asgi_adapters(app: ASGIApp) -> tuple[dict[str, Handler], list[str]]:
    from alb_adapter import ASGIHandler

    adapters: dict[str, Handler] = {"alb_adapter": ASGIHandler(app, lifespan="auto")}
    missing: list[str] = []
    try:
        from mangum import Mangum

        adapters["Mangum off"] = Mangum(app, lifespan="off")  # type: ignore[arg-type]
        adapters["Mangum auto"] = Mangum(app, lifespan="auto")  # type: ignore[arg-type]
    except ImportError as exc:
        missing.append(f"Mangum ({exc})")
    return adapters, missing


APP_SPECS: list[tuple[str, str, str, Callable[[], Any]]] = [
    ("raw-wsgi", "Raw WSGI app", "wsgi", lambda: bench_apps.raw_wsgi_app),
    ("raw-asgi", "Raw ASGI app", "asgi", lambda: bench_apps.raw_asgi_app),
    ("flask", "Flask", "wsgi", bench_apps.make_flask_app),
    ("fastapi", "FastAPI", "asgi", bench_apps.make_fastapi_app),
    ("django-wsgi", "Django (WSGI)", "wsgi", bench_apps.make_django_wsgi_app),
    ("django-asgi", "Django (ASGI)", "asgi", bench_apps.make_django_asgi_app),
]


def build_app(key: str, title: str, kind: str, factory: Callable[[], Any]) -> App | str:
    """The app with its handlers, or why it cannot be benchmarked here."""
    try:
        app = factory()
    except ImportError as exc:
        return f"{title}: not installed ({exc})"
    if kind == "wsgi":
        adapters, missing = wsgi_adapters(app)
        return App(key, title, kind, app, adapters, missing)
    adapters, missing = asgi_adapters(app)
    return App(key, title, kind, app, adapters, missing, loop=asyncio.new_event_loop())


# --------------------------------------------------------------------------- correctness


@dataclass
class Expected:
    status: int
    body: bytes
    base64: bool
    content_type: str
    cookies: list[str]  # cookie names the client must receive
    query: list[tuple[str, str]]
    request_body: bytes | None


def cookie_names(values: Iterable[str]) -> list[str]:
    return sorted(value.strip().partition("=")[0] for value in values)


def expected_from_floor(case: Case, raw: RawResponse) -> Expected:
    status, headers, body = raw
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    return Expected(
        status=status,
        body=body,
        base64=case.base64,
        content_type=content_type.partition(";")[0].strip().lower(),
        cookies=cookie_names(v for k, v in headers if k.lower() == "set-cookie"),
        query=parse_qsl(case.query, keep_blank_values=True),
        request_body=case.body,
    )


def _nulls(value: object, where: str = "answer") -> list[str]:
    if value is None:
        return [where]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _nulls(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _nulls(v, f"{where}[{i}]")]
    return []


# What the client receives: every header as (lowercase name, value), and the body's bytes.
Delivered = tuple[list[tuple[str, str]], bytes]


def read_alb_answer(answer: object, case: Case, want: Expected) -> Delivered | str:
    """What the client gets from ALB for the answer, or why ALB (or the client) gets it wrong."""
    if not isinstance(answer, dict):
        return f"the answer is a {type(answer).__name__}, not a dict"
    nulls = _nulls(answer)
    if nulls:
        return f"null at {nulls[0]} (ALB answers 502)"
    status = answer.get("statusCode")
    if type(status) is not int or status != want.status:
        return f"statusCode {status!r}, the app answered {want.status}"
    field_name, other = (
        ("multiValueHeaders", "headers") if case.multi else ("headers", "multiValueHeaders")
    )
    if other in answer:
        return f"has {other}, which ALB ignores in this header mode"
    headers = answer.get(field_name)
    if not isinstance(headers, dict):
        return f"no {field_name} (ALB drops headers sent in the other field)"
    pairs: list[tuple[str, str]] = []
    for name, value in headers.items():
        values = value if case.multi else [value]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return (
                f"{field_name}[{name!r}] is not {'a list of strings' if case.multi else 'a string'}"
            )
        pairs += [(name.lower(), v) for v in values]
    encoded = answer.get("isBase64Encoded")
    if encoded is not want.base64:
        return f"isBase64Encoded is {encoded!r}, expected {want.base64}"
    text = answer.get("body", "")
    if not isinstance(text, str):
        return f"body is a {type(text).__name__}, not a str"
    try:
        body = b64decode(text, validate=True) if encoded else text.encode("utf-8")
    except (binascii.Error, ValueError):
        return "isBase64Encoded but the body is not valid base64"
    return pairs, body


def read_api_gateway_answer(answer: object, case: Case, want: Expected) -> Delivered | str:
    """What the client gets from API Gateway for the answer, as the emulator's Service for that
    front door reads it, or why the client gets something else.

    Two checks come on top of the Service's reading. ``isBase64Encoded`` must be what the body
    calls for, as behind ALB: a REST API without binaryMediaTypes gives the client base64 text
    for an answer marked base64. And in payload 2.0 ``headers`` holds one value per name, case
    ignored, so the case-variant keys that carry several Set-Cookie through ALB deliver one
    (docs/sources/apigateway_v2.md; ``cookies`` carries them all): the emulator's reading keeps
    every variant, the service does not.
    """
    service = find_service(case.source)
    # The emulator warns of answer keys the format does not have: not a record any adapter wrote.
    logging.disable(logging.WARNING)
    try:
        outcome = service.judge(answer)
    finally:
        logging.disable(logging.NOTSET)
    if outcome.reason is not None:
        return f"{service.label} answers {outcome.status} itself: {outcome.reason}"
    if outcome.status != want.status:
        return f"the client gets status {outcome.status}, the app answered {want.status}"
    fields = answer if isinstance(answer, dict) else {}
    encoded = fields.get("isBase64Encoded")
    if bool(encoded) is not want.base64:
        return f"isBase64Encoded is {encoded!r}, expected {want.base64}"
    headers = fields.get("headers")
    if case.source == "apigw-http-v2" and isinstance(headers, dict):
        spellings: dict[str, int] = {}
        for name in headers:
            spellings[str(name).lower()] = spellings.get(str(name).lower(), 0) + 1
        for name, count in spellings.items():
            if count > 1:
                return (
                    f"sends {count} {name} headers under case variants of the name in `headers`, "
                    f"which holds one value per name in payload 2.0: the client gets one, "
                    f"{count - 1} lost"
                )
    return list(outcome.headers), outcome.body


def check_answer(answer: object, case: Case, want: Expected, seen: dict[str, object]) -> str | None:
    """Why the answer is wrong (what the client or the app would get wrong), or None."""
    read = read_alb_answer if case.source == ALB else read_api_gateway_answer
    delivered = read(answer, case, want)
    if isinstance(delivered, str):
        return delivered
    pairs, body = delivered
    if body != want.body:
        return f"body differs from the app's ({len(body)} bytes, the app sent {len(want.body)})"
    content_type = next((v for k, v in reversed(pairs) if k == "content-type"), "")
    if content_type.partition(";")[0].strip().lower() != want.content_type:
        return f"content-type {content_type!r}, the app sent {want.content_type!r}"
    cookies = cookie_names(v for k, v in pairs if k == "set-cookie")
    if cookies != want.cookies:
        return (
            f"the client gets Set-Cookie for {cookies} of the app's {want.cookies} "
            f"({len(want.cookies) - len(set(cookies) & set(want.cookies))} lost)"
        )
    query = seen.get("query")
    if not isinstance(query, str) or parse_qsl(query, keep_blank_values=True) != want.query:
        return f"the app read the query {query!r}, which does not parse as the one the client sent"
    if want.request_body is not None and seen.get("body") != want.request_body:
        got = seen.get("body")
        size = len(got) if isinstance(got, bytes) else got
        return (
            f"the app received a different body ({size} bytes, the client sent "
            f"{len(want.request_body)})"
        )
    return None


# --------------------------------------------------------------------------- timing


@dataclass
class Runner:
    label: str
    role: str  # "floor" | "codec" | "adapter"
    call: Callable[[], object]
    wrong: str | None = None
    # A peer that answered WRONG but returned a dict and left the event alone is still timed, so
    # the budget can compare against it on every row; its rows stay marked WRONG.
    timed_anyway: bool = False
    samples: list[int] = field(default_factory=list)  # ns, the run in progress
    run_medians: list[float] = field(default_factory=list)  # µs, one per finished run
    run_p90s: list[float] = field(default_factory=list)
    sample_count: int = 0  # over all finished runs

    @property
    def timed(self) -> bool:
        return self.wrong is None or self.timed_anyway

    def finish_run(self) -> None:
        """Keep the run's median and p90, drop its samples."""
        if not self.samples:
            return
        ordered = sorted(self.samples)
        self.run_medians.append(statistics.median(ordered) / 1000)
        self.run_p90s.append(ordered[round(0.9 * (len(ordered) - 1))] / 1000)
        self.sample_count += len(ordered)
        self.samples = []

    def median_in(self, run: int | None = None) -> float:
        """µs: the median of one run, or (``run=None``) the median of every run's median."""
        if not self.run_medians:
            return math.nan
        if run is None:
            return statistics.median(self.run_medians)
        return self.run_medians[run] if run < len(self.run_medians) else math.nan

    @property
    def median(self) -> float:
        return self.median_in(None)

    @property
    def p90(self) -> float:
        return statistics.median(self.run_p90s) if self.run_p90s else math.nan


@dataclass
class Group:
    app: App
    case: Case
    runners: list[Runner]

    @property
    def where(self) -> str:
        """The row's name in the budget and the summary: ``flask get`` behind ALB,
        ``apigw-rest flask get`` behind API Gateway."""
        row = f"{self.app.key} {self.case.key}"
        return row if self.case.source == ALB else f"{self.case.source} {row}"

    @property
    def title(self) -> str:
        """The row's name in the report: ``Flask get`` behind ALB, ``Flask get behind API
        Gateway REST API`` behind API Gateway."""
        row = f"{self.app.title} {self.case.key}"
        return row if self.case.source == ALB else f"{row} behind {source_label(self.case.source)}"

    def runner(self, label: str) -> Runner | None:
        return next((r for r in self.runners if r.label == label), None)

    def above_codec(self, label: str, run: int | None = None) -> float:
        """µs above floor+codec, in one run or on the medians of all runs."""
        runner, codec = self.runner(label), self.runner("floor+codec")
        if runner is None or codec is None or not runner.timed:
            return math.nan
        return runner.median_in(run) - codec.median_in(run)


def make_group(app: App, case: Case, context: object) -> Group:
    event = case.event
    text = event.get("body") or ""
    is_b64 = bool(event.get("isBase64Encoded"))
    body = decoded_body(event)
    base64 = case.base64

    if app.kind == "wsgi":
        template = environ_template(case)
        wsgi_app = app.app

        def floor() -> object:
            return call_wsgi(wsgi_app, template, body)

        def codec() -> object:
            request_body = binascii.a2b_base64(text) if is_b64 else text.encode("utf-8")
            _, _, out = call_wsgi(wsgi_app, template, request_body)
            return encode_body(out, base64)

    else:
        template = scope_template(case)
        asgi_app = app.app
        loop = app.loop
        assert loop is not None

        def floor() -> object:
            return call_asgi(loop, asgi_app, template, body)

        def codec() -> object:
            request_body = binascii.a2b_base64(text) if is_b64 else text.encode("utf-8")
            _, _, out = call_asgi(loop, asgi_app, template, request_body)
            return encode_body(out, base64)

    runners = [Runner("floor", "floor", floor), Runner("floor+codec", "codec", codec)]
    for label, handler in app.adapters.items():
        runners.append(Runner(label, "adapter", _bind(handler, event, context)))
    return Group(app, case, runners)


def _bind(handler: Handler, event: dict[str, Any], context: object) -> Callable[[], object]:
    def call() -> object:
        return handler(event, context)

    return call


def check_group(group: Group) -> None:
    """Run each runner once; adapters whose answer is wrong get ``wrong`` set and are not timed."""
    case = group.case
    bench_apps.SEEN.clear()
    raw = group.runners[0].call()
    assert isinstance(raw, tuple)
    want = expected_from_floor(case, raw)
    if want.status != case.status:
        raise RuntimeError(f"{group.title}: the floor answered {want.status}")
    pristine = copy.deepcopy(case.event)
    for runner in group.runners[1:]:
        if runner.role != "adapter":
            runner.call()
            continue
        bench_apps.SEEN.clear()
        try:
            answer = runner.call()
        except Exception as exc:  # noqa: BLE001 (a crash is a WRONG row, with its reason)
            runner.wrong = f"raised {type(exc).__name__}: {exc}"[:200]
            continue
        runner.wrong = check_answer(answer, case, want, dict(bench_apps.SEEN))
        if case.event != pristine:
            runner.wrong = runner.wrong or "modified the event it was given"
            case.event.clear()
            case.event.update(copy.deepcopy(pristine))
        elif runner.wrong and runner.label != "alb_adapter" and isinstance(answer, dict):
            runner.timed_anyway = True


def time_group(group: Group, mode: Mode) -> None:
    """One run: round-robin, each round a short batch of every runner, the start rotating.

    Each runner keeps the run's median and p90 (``Runner.finish_run``), not its samples.
    """
    active = [r for r in group.runners if r.timed]
    clock = time.perf_counter_ns
    estimate: dict[str, float] = {}
    for runner in active:  # warm up, then estimate one call
        runner.call()
        start = clock()
        calls = 0
        while calls < 3 or (clock() - start < 10_000_000 and calls < 100):
            runner.call()
            calls += 1
        estimate[runner.label] = (clock() - start) / calls
    # Batches of about 1 ms per runner, so drift between runners is measured in milliseconds.
    batch = {r.label: max(1, min(25, round(1_000_000 / estimate[r.label]))) for r in active}
    round_ns = sum(batch[r.label] * estimate[r.label] for r in active)
    fewest = min(batch.values())
    rounds = max(
        math.ceil(mode.min_samples / fewest), round(mode.seconds_per_group * 1e9 / round_ns)
    )
    gc.collect()
    for number in range(rounds):
        shift = number % len(active)
        for runner in active[shift:] + active[:shift]:
            samples = runner.samples
            call = runner.call
            for _ in range(batch[runner.label]):
                start = clock()
                call()
                samples.append(clock() - start)
    for runner in active:
        runner.finish_run()


# --------------------------------------------------------------------------- cold start


def _env(bytecode: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


IMPORT_MODULES = [
    ("alb_adapter", "alb_adapter (WSGIHandler)"),
    ("alb_adapter.asgi", "alb_adapter + alb_adapter.asgi (ASGIHandler)"),
    ("apig_wsgi", "apig_wsgi"),
    ("serverless_wsgi", "serverless_wsgi"),
    ("mangum", "mangum"),
]
_MARK = "--bench-mark--"


@dataclass
class Timings:
    """Milliseconds, one value per fresh process, one list per run."""

    runs: list[list[float]] = field(default_factory=list)

    def median_in(self, run: int | None = None) -> float:
        """The median of one run, or (``run=None``) the median of every run's median."""
        medians = [statistics.median(values) if values else math.nan for values in self.runs]
        if run is not None:
            return medians[run] if run < len(medians) else math.nan
        medians = [value for value in medians if not math.isnan(value)]
        return statistics.median(medians) if medians else math.nan

    @property
    def all(self) -> list[float]:
        return [value for values in self.runs for value in values]


@dataclass
class ImportResult:
    module: str
    label: str
    ms: Timings = field(default_factory=Timings)
    modules: int = 0
    asyncio: bool = False  # imported in any run
    error: str | None = None


def _run_python(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _import_once(module: str) -> tuple[float, int, bool]:
    """-X importtime of ``import module`` in a fresh process: (cumulative ms, modules, asyncio?).

    Every top-level import line after the marker belongs to the statement (a dotted module imports
    its parent package on its own line), so their cumulative times are summed.
    """
    code = f"import sys; sys.stderr.write({_MARK!r} + '\\n'); sys.stderr.flush(); import {module}"
    done = _run_python(["-X", "importtime", "-c", code])
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    lines = done.stderr.splitlines()
    lines = lines[lines.index(_MARK) + 1 :]
    total_us = 0
    names: list[str] = []
    for line in lines:
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        names.append(name.strip())
        if not name.startswith("  ", 1):  # " name" is top level, "   name" nested
            total_us += int(cumulative)
    return total_us / 1000, len(names), "asyncio" in names


def measure_imports(results: list[ImportResult], processes: int) -> None:
    """One run: ``processes`` fresh processes per module, interleaved, into a new run list."""
    for result in results:  # once with bytecode writing on, so later runs read the caches
        try:
            _import_once(result.module)
        except RuntimeError as exc:
            result.error = str(exc)
        result.ms.runs.append([])
    for _ in range(processes):  # interleaved, so drift hits every module alike
        for result in results:
            if result.error:
                continue
            ms, count, has_asyncio = _import_once(result.module)
            result.ms.runs[-1].append(ms)
            result.modules, result.asyncio = count, result.asyncio or has_asyncio


# What the AWS Lambda Python runtime has imported before it imports the handler module, taken from
# the sources of its runtime interface client (the awslambdaric package): the runtime starts it
# with `python -m awslambdaric` (runpy); its bootstrap module imports importlib, json, logging, os,
# sys, time and traceback; the runtime-API client http and http.client at the top in older
# releases (newer ones import them lazily, when reporting an init error) and importlib.metadata
# (older) or concurrent.futures (newer); the marshaller decimal, math and os (and simplejson, not a
# stdlib module, for which json stands in here); the log utilities datetime, enum, json, logging
# and traceback; the context object logging, os, sys and time; the multi-concurrency runner of
# newer releases os, socket, sys and multiprocessing. The union of those releases is loaded here;
# the interpreter's own start-up (site, encodings, io, ...) comes with every process anyway.
RUNTIME_PRELOAD = (
    "runpy",
    "importlib",
    "importlib.metadata",
    "json",
    "logging",
    "os",
    "sys",
    "time",
    "traceback",
    "decimal",
    "math",
    "datetime",
    "enum",
    "http",
    "http.client",
    "socket",
    "multiprocessing",
    "concurrent.futures",
)

# Child program for the first response: the runtime's modules loaded and the event parsed, as the
# runtime has them when the handler module is imported; the clock covers the handler module's
# imports, building the app and the handler, and the first invocation.
_CHILD = """\
import {preload}
event = json.loads(sys.stdin.read())
class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = "512"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "stream"
    def get_remaining_time_in_millis(self):
        return 30_000
context = Context()
start = time.perf_counter_ns()
{{setup}}
answer = handler(event, context)
elapsed = time.perf_counter_ns() - start
print(json.dumps({{{{"ns": elapsed, "status": answer["statusCode"]}}}}))
""".format(preload=", ".join(RUNTIME_PRELOAD))

_RAW_WSGI = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"items":[]}']
"""
_FLASK = """\
from flask import Flask
app = Flask("cold")
@app.get("/api/items")
def items():
    return {"items": []}
"""
_RAW_ASGI = """\
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"items":[]}'})
"""
# The app called without an adapter: the same request as a hand-built WSGI environ (method, path,
# query, the sixteen headers, server, client, scheme), the answer collected and close()d.
_DIRECT_WSGI = """\
import io
def handler(event, context):
    headers = event["headers"]
    query = "&".join(f"{k}={v}" for k, v in (event.get("queryStringParameters") or {}).items())
    environ = {"REQUEST_METHOD": event["httpMethod"], "SCRIPT_NAME": "", "PATH_INFO": event["path"],
               "QUERY_STRING": query, "SERVER_NAME": headers.get("host", "localhost"),
               "SERVER_PORT": headers.get("x-forwarded-port", "443"),
               "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": headers.get("x-forwarded-for", "").rpartition(",")[2].strip(),
               "wsgi.version": (1, 0), "wsgi.url_scheme": headers.get("x-forwarded-proto", "https"),
               "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
               "wsgi.multiprocess": False, "wsgi.run_once": False}
    environ.update(("HTTP_" + k.upper().replace("-", "_"), v) for k, v in headers.items())
    started = []
    result = app(environ, lambda status, headers, exc=None: started.append(status))
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return {"statusCode": int(started[0][:3]), "body": body.decode()}
"""
_DIRECT_ASGI = """\
import asyncio
loop = asyncio.new_event_loop()
def handler(event, context):
    query = "&".join(f"{k}={v}" for k, v in (event.get("queryStringParameters") or {}).items())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": event["httpMethod"], "scheme": "https", "path": event["path"],
             "raw_path": event["path"].encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in event["headers"].items()],
             "client": None, "server": ("example.com", 443)}
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    loop.run_until_complete(app(scope, receive, send))
    return {"statusCode": sent[0]["status"], "body": sent[1]["body"].decode()}
"""
_ALB_WSGI = "from alb_adapter import WSGIHandler\nhandler = WSGIHandler(app)\n"
_APIG = "from apig_wsgi import make_lambda_handler\nhandler = make_lambda_handler(app, binary_support=True)\n"  # noqa: E501
_SERVERLESS = "import serverless_wsgi\ndef handler(event, context):\n    return serverless_wsgi.handle_request(app, event, context)\n"  # noqa: E501
_ALB_ASGI = "from alb_adapter import ASGIHandler\nhandler = ASGIHandler(app)\n"
_MANGUM = 'from mangum import Mangum\nhandler = Mangum(app, lifespan="{}")\n'

DIRECT = "no adapter (direct call)"
COLD_CONFIGS: list[tuple[str, str, str]] = [  # app, adapter, setup code
    ("Raw WSGI app", DIRECT, _RAW_WSGI + _DIRECT_WSGI),
    ("Raw WSGI app", "alb_adapter", _RAW_WSGI + _ALB_WSGI),
    ("Raw WSGI app", "apig-wsgi", _RAW_WSGI + _APIG),
    ("Raw WSGI app", "serverless-wsgi", _RAW_WSGI + _SERVERLESS),
    ("Flask", DIRECT, _FLASK + _DIRECT_WSGI),
    ("Flask", "alb_adapter", _FLASK + _ALB_WSGI),
    ("Flask", "apig-wsgi", _FLASK + _APIG),
    ("Flask", "serverless-wsgi", _FLASK + _SERVERLESS),
    ("Raw ASGI app", DIRECT, _RAW_ASGI + _DIRECT_ASGI),
    ("Raw ASGI app", "alb_adapter", _RAW_ASGI + _ALB_ASGI),
    ("Raw ASGI app", "Mangum off", _RAW_ASGI + _MANGUM.format("off")),
    ("Raw ASGI app", "Mangum auto", _RAW_ASGI + _MANGUM.format("auto")),
]


@dataclass
class ColdResult:
    app: str
    adapter: str
    setup: str
    ms: Timings = field(default_factory=Timings)
    error: str | None = None


def cold_results() -> list[ColdResult]:
    return [ColdResult(app, adapter, setup) for app, adapter, setup in COLD_CONFIGS]


def _first_response(setup: str, event_json: str) -> float:
    done = _run_python(["-c", _CHILD.format(setup=setup)], stdin=event_json)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["failed"])[-1])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != 200:
        raise RuntimeError(f"status {result['status']}")
    return float(result["ns"]) / 1e6


def measure_first_responses(
    results: list[ColdResult], processes: int, event: dict[str, Any]
) -> None:
    """One run: ``processes`` fresh processes per configuration, interleaved, into a new run list.

    A first unmeasured round (re)writes the bytecode caches.
    """
    event_json = json.dumps(event)
    for result in results:
        result.ms.runs.append([])
    for number in range(processes + 1):
        for result in results:
            if result.error:
                continue
            try:
                ms = _first_response(result.setup, event_json)
            except RuntimeError as exc:
                result.error = str(exc)
                continue
            if number:
                result.ms.runs[-1].append(ms)


# --------------------------------------------------------------------------- budget


@dataclass
class BudgetRow:
    """One row a budget line is judged on: its value in each run and on the runs' medians."""

    where: str
    runs: list[float]  # the value computed within each run
    value: float  # the judged value: computed from the median of the runs' medians
    status: str  # PASS | MISS | N/A
    detail: str  # the numbers behind the judged value, or why the row is N/A


@dataclass
class BudgetLine:
    number: int
    text: str
    limit: str
    status: str  # PASS | MISS | N/A
    detail: str
    rows: list[BudgetRow] = field(default_factory=list)

    @property
    def worst(self) -> BudgetRow | None:
        judged = [row for row in self.rows if row.status != "N/A"]
        return max(judged, key=lambda row: row.value) if judged else None


def _status(value: float, limit: float) -> str:
    return "N/A" if math.isnan(value) else "PASS" if value <= limit else "MISS"


def _line(number: int, text: str, limit: float, rows: list[BudgetRow]) -> BudgetLine:
    """PASS if every judged row is within the limit; N/A rows are named, not counted."""
    statuses = {row.status for row in rows}
    status = "MISS" if "MISS" in statuses else "PASS" if "PASS" in statuses else "N/A"
    line = BudgetLine(number, text, f"≤ {limit:.2f}", status, "", rows)
    worst = line.worst
    parts = []
    if worst is not None:
        judged = sum(1 for row in rows if row.status != "N/A")
        misses = sum(1 for row in rows if row.status == "MISS")
        parts.append(
            f"{judged} rows judged, {misses} over the limit; worst {worst.where} "
            f"{worst.value:.3f}: {worst.detail}"
        )
    parts += [f"N/A {row.where}: {row.detail}" for row in rows if row.status == "N/A"]
    line.detail = "; ".join(parts) or "not measured in this run"
    return line


def _above_codec_row(group: Group, peer: str, limit: float, runs: int) -> BudgetRow:
    """(alb_adapter - floor+codec) ÷ (peer - floor+codec) in one (front door, app, case) group."""
    where = group.where
    alb, other, codec = group.runner("alb_adapter"), group.runner(peer), group.runner("floor+codec")
    if other is None:
        return BudgetRow(where, [], math.nan, "N/A", f"{peer} not installed")
    if alb is None or not alb.timed:
        return BudgetRow(where, [], math.nan, "N/A", "alb_adapter WRONG here (see the last line)")
    if not other.timed:
        return BudgetRow(where, [], math.nan, "N/A", f"{peer} WRONG and not timed: {other.wrong}")

    def ratio(run: int | None) -> float:
        theirs = group.above_codec(peer, run)
        return group.above_codec("alb_adapter", run) / theirs if theirs > 0 else math.nan

    mine, theirs = group.above_codec("alb_adapter"), group.above_codec(peer)
    assert codec is not None
    value = ratio(None)
    detail = (
        # Enough digits that a ratio just over the limit does not print as the limit itself.
        f"alb_adapter {mine:+.2f} µs, {peer} {theirs:+.2f} µs above floor+codec "
        f"({codec.median:.2f} µs)"
    )
    if other.wrong:
        # A wrong answer is cheaper (apig-wsgi drops two of three cookies behind ALB): no
        # reference for speed. Behind ALB the same response is judged in the other header mode
        # (cookies-multi).
        return BudgetRow(
            where,
            [],
            math.nan,
            "N/A",
            f"{peer} answers WRONG here, so it is no reference ({detail})",
        )
    if math.isnan(value):
        detail = f"{peer} is not above floor+codec ({theirs:+.2f} µs)"
    return BudgetRow(
        where, [ratio(run) for run in range(runs)], value, _status(value, limit), detail
    )


def _codec_row(group: Group, limit: float, runs: int) -> BudgetRow:
    """alb_adapter's median ÷ floor+codec's median in one (front door, app, case) group."""
    where = group.where
    alb, codec = group.runner("alb_adapter"), group.runner("floor+codec")
    if alb is None or codec is None or not alb.timed:
        return BudgetRow(where, [], math.nan, "N/A", "alb_adapter WRONG here (see the last line)")

    def ratio(run: int | None) -> float:
        return alb.median_in(run) / codec.median_in(run)

    value = ratio(None)
    detail = f"alb_adapter {alb.median:,.1f} µs, floor+codec {codec.median:,.1f} µs"
    return BudgetRow(
        where, [ratio(run) for run in range(runs)], value, _status(value, limit), detail
    )


def _timings_row(
    where: str, mine: Timings, theirs: Timings, names: tuple[str, str], limit: float, runs: int
) -> BudgetRow:
    """Median ms of fresh processes, one configuration ÷ another."""

    def ratio(run: int | None) -> float:
        return mine.median_in(run) / theirs.median_in(run)

    value = ratio(None)
    detail = (
        f"{names[0]} {mine.median_in():.2f} ms, {names[1]} {theirs.median_in():.2f} ms "
        f"(medians of {len(mine.all) // max(runs, 1)} processes per run)"
    )
    return BudgetRow(
        where, [ratio(run) for run in range(runs)], value, _status(value, limit), detail
    )


def evaluate_budget(
    groups: dict[tuple[str, str, str], Group],
    imports: list[ImportResult] | None,
    cold: list[ColdResult] | None,
    runs: int,
) -> list[BudgetLine]:
    """The budget: every line judged on the median of the runs' medians, per row."""
    wsgi = [group for group in groups.values() if group.app.kind == "wsgi"]
    asgi = [group for group in groups.values() if group.app.kind == "asgi"]
    binary = [group for group in groups.values() if group.case.key in BINARY_CASES]
    lines = [
        _line(
            1,
            "WSGI apps, every row (ALB single- and multi-value, API Gateway): alb_adapter's time "
            "above floor+codec ≤ apig-wsgi's",
            1.0,
            [_above_codec_row(group, "apig-wsgi", 1.0, runs) for group in wsgi],
        ),
        _line(
            2,
            "ASGI apps, every row (ALB and API Gateway): alb_adapter's time above floor+codec ≤ "
            "½ of Mangum (lifespan off)'s",
            0.5,
            [_above_codec_row(group, "Mangum off", 0.5, runs) for group in asgi],
        ),
        _line(
            3,
            "512 KiB binary cases, every app and front door: alb_adapter within 10 % of "
            "floor+codec",
            1.1,
            [_codec_row(group, 1.1, runs) for group in binary],
        ),
    ]

    by_module = {result.module: result for result in imports or []}
    mine_i, theirs_i = by_module.get("alb_adapter"), by_module.get("apig_wsgi")
    rows = []
    if mine_i and theirs_i and mine_i.ms.all and theirs_i.ms.all:
        row = _timings_row(
            "import", mine_i.ms, theirs_i.ms, ("alb_adapter", "apig_wsgi"), 0.5, runs
        )
        row.detail += f"; asyncio imported: {'yes' if mine_i.asyncio else 'no'}"
        if mine_i.asyncio:
            row.status = "MISS"
        rows.append(row)
    lines.append(
        _line(4, "`import alb_adapter` ≤ ½ of apig-wsgi's import time, and no asyncio", 0.5, rows)
    )

    by_config = {(result.app, result.adapter): result for result in cold or []}
    mine_c, theirs_c = by_config.get(("Flask", "alb_adapter")), by_config.get(("Flask", DIRECT))
    rows = []
    if mine_c and theirs_c and mine_c.ms.all and theirs_c.ms.all:
        names = ("alb_adapter + Flask", "Flask called directly")
        rows.append(_timings_row("Flask first response", mine_c.ms, theirs_c.ms, names, 1.05, runs))
    lines.append(
        _line(
            5,
            "Cold start, Flask, in a process with the Lambda runtime's modules loaded: import, "
            "build and answer one ALB event within 5 % of the same without alb_adapter",
            1.05,
            rows,
        )
    )

    wrong = [
        f"{group.where}: {runner.wrong}"
        for group in groups.values()
        for runner in group.runners
        if runner.label == "alb_adapter" and runner.wrong
    ]
    checked = sum(1 for group in groups.values() if group.runner("alb_adapter"))
    lines.append(
        BudgetLine(
            6,
            "Zero WRONG rows for alb_adapter",
            "0",
            "MISS" if wrong else "PASS" if checked else "N/A",
            "; ".join(wrong) if wrong else f"{checked} alb_adapter rows checked, all correct",
        )
    )
    return lines


def not_judged_because(
    mode: Mode, runs: int, allocator: Allocator, args: argparse.Namespace
) -> list[str]:
    """Why this run's budget lines are not the judged ones (empty: they are)."""
    reasons = []
    if mode.name != "full":
        reasons.append(f"{mode.name} mode: too few samples for the budget lines to mean much")
    if runs != JUDGED_RUNS:
        reasons.append(
            f"{runs} run{'s' if runs != 1 else ''}: the budget is judged on the median of "
            f"{JUDGED_RUNS} full runs (`--runs {JUDGED_RUNS}`)"
        )
    if not allocator.glibc_defaults:
        reasons.append(
            "the allocator is not glibc's default (as on Lambda): " + allocator.description
        )
    if args.apps or args.cases or args.sources or args.no_cold:
        reasons.append("only part of the benchmark ran (--apps, --cases, --sources or --no-cold)")
    return reasons


# --------------------------------------------------------------------------- report


def _us(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def _x(value: float) -> str:
    return "—" if math.isnan(value) or value == 0 else f"{value:.2f}x"


class Notes:
    """Footnotes for WRONG rows; the same reason from the same adapter shares one note."""

    def __init__(self) -> None:
        self.notes: dict[tuple[str, str], str] = {}
        self.where: dict[str, list[str]] = {}

    def ref(self, label: str, reason: str, where: str) -> str:
        key = (label, reason)
        if key not in self.notes:
            self.notes[key] = f"w{len(self.notes) + 1}"
        name = self.notes[key]
        places = self.where.setdefault(name, [])
        if where not in places:
            places.append(where)
        return f"WRONG[^{name}]"

    def render(self) -> list[str]:
        out = []
        for (label, reason), name in self.notes.items():
            places = ", ".join(self.where[name])
            out.append(f"[^{name}]: **{label}** ({places}): {reason}.")
        return out


def _cell(group: Group, label: str, notes: Notes) -> str:
    runner = group.runner(label)
    if runner is None:
        return "n/a"
    value = group.above_codec(label)
    shown = "—" if math.isnan(value) else f"{value:+.1f}"
    if runner.wrong:
        ref = notes.ref(label, runner.wrong, group.title)
        return f"{ref} ({shown})" if runner.timed_anyway else ref
    return shown


def _ratio(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def _per_run(values: list[float], digits: int) -> str:
    return " / ".join("—" if math.isnan(v) else f"{v:.{digits}f}" for v in values)


def versions() -> list[tuple[str, str]]:
    names = ["alb-adapter", "mangum", "apig-wsgi", "serverless-wsgi", "flask", "werkzeug"]
    names += ["fastapi", "starlette", "django", "asgiref"]
    out = []
    for name in names:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _render_budget(
    budget: list[BudgetLine], runs: int, reasons: list[str], tuned: bool
) -> list[str]:
    out = ["## Budget", ""]
    if reasons:
        label = "NOT JUDGED" + (" (tuned malloc)" if tuned else "")
        out += [f"**{label}**: this report is not the one the budget is judged on:", ""]
        out += [f"* {reason}." for reason in reasons]
        out.append("")
    else:
        out += [
            f"**Judged run**: {runs} full runs with glibc's default allocator; every value is "
            "computed from the median of the runs' medians, per row.",
            "",
        ]
    run_heads = [f"run {n + 1}" for n in range(runs)]
    out += [
        "| | budget line | limit | worst row | " + " | ".join(run_heads) + " | on the medians |",
        "|---|---|---|---|" + "---:|" * (runs + 1),
    ]
    for line in budget:
        worst = line.worst
        if worst is None:
            cells = [line.detail if line.number == 6 else "—"] + ["—"] * (runs + 1)
        else:
            cells = [worst.where, *(_ratio(value) for value in worst.runs), _ratio(worst.value)]
        out.append(
            f"| **{line.status}** | {line.number}. {line.text} | {line.limit} | "
            + " | ".join(cells)
            + " |"
        )
    out.append("")
    out += [
        "The run columns give the worst row's value within each run; the last column, the value "
        "the line is judged on, comes from the median of the runs' medians. Every row:",
        "",
    ]
    for line in budget:
        if not line.rows:
            continue
        out += [
            f"### {line.number}. {line.text}",
            "",
            "| row | " + " | ".join(run_heads) + " | on the medians | | numbers (on the medians) |",
            "|---|" + "---:|" * (runs + 1) + "---|---|",
        ]
        for row in line.rows:
            runs_cells = [_ratio(value) for value in row.runs] or ["—"] * runs
            out.append(
                f"| {row.where} | "
                + " | ".join(runs_cells)
                + f" | **{_ratio(row.value)}** | {row.status} | {row.detail} |"
            )
        out.append("")
    return out


def render(
    mode: Mode,
    argv: list[str],
    runs: int,
    groups: dict[tuple[str, str, str], Group],
    skipped: list[str],
    budget: list[BudgetLine],
    reasons: list[str],
    imports: list[ImportResult] | None,
    cold: list[ColdResult] | None,
    seconds: float,
    settings: list[tuple[str, str]],
    tuned: bool,
) -> str:
    notes = Notes()
    out = ["# alb_adapter benchmark results", ""]
    of_runs = "the median of the runs' medians" if runs > 1 else "the median of one run"
    out.append(
        f"Mode **{mode.name}**, **{runs} run{'s' if runs > 1 else ''}**, "
        f"`python benchmarks/bench.py {' '.join(argv)}`".rstrip()
        + f", {time.strftime('%Y-%m-%d %H:%M %Z')}, {seconds:.0f} s. Every timing below is "
        f"{of_runs}. How to read this: [README.md](README.md)."
    )
    out.append("")
    out.append(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({_cpu()})."
    )
    out.append("")
    out += ["| allocator and GC | as seen in this run |", "|---|---|"]
    out += [f"| {name} | {value} |" for name, value in settings]
    out.append("")
    out.append("| package | version |")
    out.append("|---|---|")
    out += [f"| {name} | {version} |" for name, version in versions()]
    out.append("")

    out += _render_budget(budget, runs, reasons, tuned)

    for source in SOURCES:
        for kind, labels in (("wsgi", WSGI_ADAPTERS), ("asgi", ASGI_ADAPTERS)):
            rows = [g for g in groups.values() if g.case.source == source and g.app.kind == kind]
            if not rows:
                continue
            out += [
                f"## Time above floor+codec, {kind.upper()} apps, {source_label(source)} "
                "(median µs)",
                "",
                "| app | case | floor | floor+codec | " + " | ".join(labels) + " |",
                "|---|---|---:|---:|" + "---:|" * len(labels),
            ]
            for group in rows:
                floor, codec = group.runner("floor"), group.runner("floor+codec")
                assert floor is not None
                assert codec is not None
                cells = [_cell(group, label, notes) for label in labels]
                out.append(
                    f"| {group.app.title} | {group.case.key} | {_us(floor.median)} | "
                    f"{_us(codec.median)} | " + " | ".join(cells) + " |"
                )
            out.append("")

    out += ["## All rows", ""]
    tables: list[tuple[str, App]] = []  # (front door, app), in the order the groups ran
    for group in groups.values():
        if (group.case.source, group.app) not in tables:
            tables.append((group.case.source, group.app))
    for source, app in tables:
        labels = WSGI_ADAPTERS if app.kind == "wsgi" else ASGI_ADAPTERS
        present = [label for label in labels if label in app.adapters]
        out += [f"### {app.title}, {source_label(source)}", ""]
        if app.missing:
            out += [f"Not measured: {', '.join(app.missing)}.", ""]
        head = (
            "| case | runner | median µs | p90 µs | x floor | x floor+codec | above floor+codec µs"
        )
        out.append(head + "".join(f" | vs {label}" for label in present) + " |")
        out.append("|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(present))
        for group in (g for g in groups.values() if g.app is app and g.case.source == source):
            floor, codec = group.runner("floor"), group.runner("floor+codec")
            assert floor is not None
            assert codec is not None
            for runner in group.runners:
                name = runner.label
                if runner.wrong:
                    ref = notes.ref(name, runner.wrong, group.title)
                    if not runner.timed_anyway:
                        out.append(
                            f"| {group.case.key} | {name} | {ref} |" + " |" * (4 + len(present))
                        )
                        continue
                    name = f"{name} ({ref})"
                vs = []
                for label in present:
                    other = group.runner(label)
                    if other is None or not other.run_medians:
                        vs.append("—")
                    else:
                        vs.append(_x(runner.median / other.median))
                above = runner.median - codec.median if runner.role == "adapter" else math.nan
                out.append(
                    f"| {group.case.key} | {name} | {_us(runner.median)} | {_us(runner.p90)} | "
                    f"{_x(runner.median / floor.median)} | {_x(runner.median / codec.median)} | "
                    f"{_us(above) if runner.role == 'adapter' else ''} | " + " | ".join(vs) + " |"
                )
        out.append("")
    samples = [r.sample_count for g in groups.values() for r in g.runners if r.sample_count]
    if samples:
        out += [f"Samples per row (all runs): {min(samples)} to {max(samples)}.", ""]

    if imports is not None:
        out += [
            "## Cold start: import time",
            "",
            "`python -X importtime -c 'import <module>'`, cumulative ms of the statement's "
            f"top-level imports, bytecode caches present; {mode.import_runs} fresh processes per "
            f"module and run, interleaved; the table gives {of_runs}.",
            "",
            "| module | median ms | per run | min | max | x alb_adapter | modules imported "
            "| asyncio |",
            "|---|---:|---|---:|---:|---:|---:|---|",
        ]
        base = next((r for r in imports if r.module == "alb_adapter" and r.ms.all), None)
        base_ms = base.ms.median_in() if base else math.nan
        for result in imports:
            values = result.ms.all
            if result.error or not values:
                out.append(f"| {result.label} | {result.error or 'not measured'} | | | | | | |")
                continue
            ms = result.ms.median_in()
            per_run = _per_run([result.ms.median_in(n) for n in range(runs)], 2)
            out.append(
                f"| {result.label} | {ms:.2f} | {per_run} | {min(values):.2f} | "
                f"{max(values):.2f} | {_x(ms / base_ms)} | {result.modules} | "
                f"{'yes' if result.asyncio else 'no'} |"
            )
        out.append("")
    if cold is not None:
        out += [
            "## Cold start: time to first response",
            "",
            "A fresh process that has loaded what the Lambda runtime loads before the handler "
            f"module ({', '.join(RUNTIME_PRELOAD)}) and parsed the event; then, on the clock: "
            "import the adapter and the app, build the handler, answer one GET (the `get` case's "
            "ALB event). The direct call builds the same request as a WSGI environ or ASGI scope "
            f"by hand. {mode.first_response_runs} processes per configuration and run, "
            f"interleaved, after one unmeasured round; the table gives {of_runs}.",
            "",
            "| app | adapter | median ms | per run | min | max | above direct call ms "
            "| x direct call |",
            "|---|---|---:|---|---:|---:|---:|---:|",
        ]
        direct: dict[str, float] = {}
        for first in cold:
            values = first.ms.all
            if first.error or not values:
                out.append(
                    f"| {first.app} | {first.adapter} | {first.error or 'not measured'} | | | | | |"
                )
                continue
            ms = first.ms.median_in()
            if first.adapter == DIRECT:
                direct[first.app] = ms
            base_ms = direct.get(first.app, math.nan)
            over = "" if first.adapter == DIRECT else f"{ms - base_ms:+.1f}"
            # Against a direct call of under a millisecond, a ratio says nothing.
            times = "" if first.adapter == DIRECT or base_ms < 1 else _x(ms / base_ms)
            per_run = _per_run([first.ms.median_in(n) for n in range(runs)], 1)
            out.append(
                f"| {first.app} | {first.adapter} | {ms:.1f} | {per_run} | {min(values):.1f} | "
                f"{max(values):.1f} | {over} | {times} |"
            )
        out.append("")
    if skipped:
        out += ["## Not measured", ""] + [f"* {line}" for line in skipped] + [""]
    footnotes = notes.render()
    if footnotes:
        out += ["## WRONG rows", ""]
        out += [
            "A WRONG row is an answer that differs from what the app sent (or a request that "
            "reached the app differently from what the client sent). It is not timed, except for "
            "a peer that still returned an answer and left the event alone: that one is timed "
            "so the budget can compare with it on every row, and its timings are shown beside the "
            "mark.",
            "",
        ]
        out += [*footnotes, ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- logging


class CountingHandler(logging.Handler):
    """Formats every record, as the Lambda runtime's handler does, then counts and drops it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.counts: dict[tuple[str, str], int] = {}
        self.first: dict[tuple[str, str], str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        key = (record.name, record.levelname)
        self.counts[key] = self.counts.get(key, 0) + 1
        self.first.setdefault(key, record.getMessage()[:120])


# --------------------------------------------------------------------------- allocator and GC

# Environment variables that change the allocator: glibc's malloc tunables (MALLOC_ARENA_MAX,
# MALLOC_MMAP_THRESHOLD_, ...; GLIBC_TUNABLES), Python's (PYTHONMALLOC) or a preloaded one.
ALLOCATOR_ENV = ("GLIBC_TUNABLES", "PYTHONMALLOC", "LD_PRELOAD")
PYTHONMALLOC_DEFAULTS = ("", "default", "pymalloc")


@dataclass
class Allocator:
    description: str
    glibc_defaults: bool  # what Lambda has: glibc malloc untuned, pymalloc on top
    environment: dict[str, str]


def steady_malloc() -> str | None:
    """Keep glibc from handing 512 KiB blocks back to the OS between calls (``--tuned-malloc``).

    By default glibc serves such blocks with fresh mmap()s (or trims the heap after freeing them),
    so the next call page-faults on about 300 new pages: some 250 µs that lands on one runner or
    another depending on heap layout. Fixed thresholds make every big block come from the
    (already faulted-in) heap, for every runner alike. Lambda does not do this, so a run with it
    is not judged. Returns why it could not be done, or None.
    """
    if not sys.platform.startswith("linux"):
        return "not Linux"
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        done = libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(
            m_trim_threshold, 128 << 20
        )
    except (OSError, AttributeError):
        return "mallopt unavailable"
    return None if done else "mallopt refused"


def allocator(tuned: bool) -> Allocator:
    environment = {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith("MALLOC_") or name in ALLOCATOR_ENV
    }
    libc, version = platform.libc_ver()
    glibc = libc == "glibc"
    changed = [
        name
        for name, value in environment.items()
        if not (name == "PYTHONMALLOC" and value in PYTHONMALLOC_DEFAULTS)
    ]
    if tuned:
        failed = steady_malloc()
        if failed is None:
            description = "glibc mallopt (--tuned-malloc): mmap threshold 32 MiB, trim 128 MiB"
            return Allocator(description, False, environment)
        print(f"--tuned-malloc: {failed}; glibc's defaults stay", flush=True)
    if not glibc:
        return Allocator(f"{libc or 'unknown C library'} {version}".strip(), False, environment)
    if changed:
        description = f"glibc {version}, changed by the environment: {', '.join(changed)}"
        return Allocator(description, False, environment)
    return Allocator(f"glibc {version} malloc, defaults (no mallopt)", True, environment)


def runtime_settings(alloc: Allocator) -> list[tuple[str, str]]:
    """The allocator and GC settings the measurements ran with, for the report."""
    env = ", ".join(f"`{name}={value}`" for name, value in alloc.environment.items())
    pymalloc = os.environ.get("PYTHONMALLOC", "") or "unset (pymalloc)"
    thresholds = ", ".join(str(n) for n in gc.get_threshold())
    return [
        ("C allocator", alloc.description),
        ("MALLOC_*, GLIBC_TUNABLES, LD_PRELOAD, PYTHONMALLOC", env or "none set"),
        ("PYTHONMALLOC", pymalloc),
        ("gc enabled", "yes" if gc.isenabled() else "no"),
        ("gc thresholds", f"({thresholds})"),
        ("gc frozen", f"{gc.get_freeze_count()} objects built during setup (gc.freeze())"),
        ("cold-start processes", "the same environment; gc and allocator untouched"),
    ]


# --------------------------------------------------------------------------- main


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0] if __doc__ else "")
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="fewer samples: under a minute")
    speed.add_argument("--smoke", action="store_true", help="a handful of samples: a few seconds")
    parser.add_argument(
        "--runs",
        type=_positive,
        default=1,
        help=f"repeat the whole measurement this many times; rows report the median of the "
        f"runs' medians (the budget is judged with --runs {JUDGED_RUNS} in full mode)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md", help="Markdown file")
    parser.add_argument("--json", type=Path, help="also write a machine-readable summary here")
    parser.add_argument(
        "--apps", help="comma-separated subset: " + ",".join(k for k, *_ in APP_SPECS)
    )
    parser.add_argument("--cases", help="comma-separated subset of the case keys")
    parser.add_argument(
        "--sources",
        help="comma-separated subset of the front doors whose events are sent: "
        + ",".join(SOURCES)
        + " (API Gateway's rows are those API_GATEWAY_ROWS names)",
    )
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start measurements")
    parser.add_argument(
        "--tuned-malloc",
        action="store_true",
        help="fix glibc's mmap/trim thresholds (steadier 512 KiB cases; not judged, see README)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.sources.split(",")) - set(SOURCES) if args.sources else set()
    if unknown:
        parser.error(f"--sources: no front door {', '.join(sorted(unknown))}")
    return args


def _json_safe(value: Any) -> Any:
    """NaN (a row with nothing to compare) as null, so the summary is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    runs: int = args.runs
    began = time.perf_counter()
    alloc = allocator(args.tuned_malloc)
    # As on Lambda: the root logger at WARNING, with a handler that formats what it gets.
    log_counter = CountingHandler()
    logging.basicConfig(level=logging.WARNING, handlers=[log_counter], force=True)
    wanted_apps = set(args.apps.split(",")) if args.apps else None
    wanted_cases = set(args.cases.split(",")) if args.cases else None
    sources = args.sources.split(",") if args.sources else SOURCES

    apps: list[App] = []
    skipped: list[str] = []
    for key, title, kind, factory in APP_SPECS:
        if wanted_apps is not None and key not in wanted_apps:
            continue
        built = build_app(key, title, kind, factory)
        if isinstance(built, str):
            skipped.append(built)
            print(f"skip {built}", flush=True)
            continue
        apps.append(built)
        skipped += [f"{title}: {missing}" for missing in built.missing]

    groups: dict[tuple[str, str, str], Group] = {}  # by (front door, app, case)
    for source in (source for source in SOURCES if source in sources):
        cases = [c for c in build_cases(source) if wanted_cases is None or c.key in wanted_cases]
        for app in apps:
            for case in cases:
                if source != ALB and case.key not in API_GATEWAY_ROWS.get(app.key, ()):
                    continue
                # A realistic context, fresh per group so its deadline never comes near.
                group = make_group(app, case, LambdaContext(timeout=900))
                groups[(source, app.key, case.key)] = group
                check_group(group)
    # Everything built: later full collections need not walk the frameworks' objects again.
    gc.collect()
    gc.freeze()
    settings = runtime_settings(alloc)

    imports = cold = None
    if not args.no_cold:
        imports = [ImportResult(module, label) for module, label in IMPORT_MODULES]
        cold = cold_results()
    for run in range(runs):
        prefix = f"run {run + 1}/{runs} " if runs > 1 else ""
        for group in groups.values():
            time_group(group, mode)
            timings = "  ".join(
                f"{r.label} {f'{r.median_in(run):.1f}' if r.timed else 'WRONG'}"
                for r in group.runners
            )
            print(f"{prefix}{group.where:36s} µs: {timings}", flush=True)
        if imports is not None and cold is not None:
            print(f"{prefix}import times ...", flush=True)
            measure_imports(imports, mode.import_runs)
            print(f"{prefix}first responses ...", flush=True)
            measure_first_responses(cold, mode.first_response_runs, build_cases()[0].event)

    budget = evaluate_budget(groups, imports, cold, runs)
    reasons = not_judged_because(mode, runs, alloc, args)
    seconds = time.perf_counter() - began
    report = render(
        mode,
        argv,
        runs,
        groups,
        skipped,
        budget,
        reasons,
        imports,
        cold,
        seconds,
        settings,
        args.tuned_malloc,
    )
    if log_counter.counts:
        report += "\n## Log records written while measuring\n\n"
        report += "Root logger at WARNING, records formatted as a Lambda log handler would.\n\n"
        report += "| logger | level | records | first message |\n|---|---|---:|---|\n"
        report += "".join(
            f"| {name} | {level} | {count} | {log_counter.first[name, level]} |\n"
            for (name, level), count in sorted(log_counter.counts.items())
        )
    args.output.write_text(report + "\n", encoding="utf-8")
    print()
    for line in budget:
        worst = line.worst
        values = (
            f"{worst.where}: runs {_per_run(worst.runs, 3)}, on the medians {worst.value:.3f}"
            if worst
            else line.detail
        )
        print(f"{line.status:4s}  {line.number}. {line.text} ({line.limit})\n      {values}")
    if reasons:
        print("\nnot judged: " + "; ".join(reasons))
    print(f"\nwrote {args.output} ({seconds:.0f} s)")

    wrong = [
        {
            "source": g.case.source,
            "app": g.app.key,
            "case": g.case.key,
            "runner": r.label,
            "reason": r.wrong,
        }
        for g in groups.values()
        for r in g.runners
        if r.wrong
    ]
    if args.json:
        summary = {
            "mode": mode.name,
            "runs": runs,
            "judged": not reasons,
            "not_judged_because": reasons,
            "seconds": seconds,
            "rows": len(groups),
            "rows_by_source": {
                source: sum(1 for key in groups if key[0] == source)
                for source in SOURCES
                if source in sources
            },
            "wrong": wrong,
            "budget": [asdict(line) for line in budget],
            "allocator_and_gc": dict(settings),
            "skipped": skipped,
        }
        args.json.write_text(json.dumps(_json_safe(summary), indent=2) + "\n", encoding="utf-8")
    return 1 if any(w["runner"] == "alb_adapter" for w in wrong) else 0


if __name__ == "__main__":
    sys.exit(main())
