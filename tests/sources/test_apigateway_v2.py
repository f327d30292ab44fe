"""API Gateway HTTP APIs (payload 2.0) and Lambda Function URLs (sources/apigateway_v2/): whole
Requests, detection, every real event through both handlers, round trips through the services'
own side, and rendering (docs/sources/apigateway_v2.md)."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pytest
from flask import Flask, jsonify, url_for
from flask import request as flask_request
from hypothesis import given, settings
from hypothesis import strategies as st

from alb_adapter import (
    ASGIHandler,
    Config,
    InvalidBody,
    InvalidEvent,
    InvalidResponse,
    WSGIHandler,
)
from alb_adapter.errors import AppError, ResponseTooLarge
from alb_adapter.model import Request, Response
from alb_adapter.sources import all_sources, find_source
from alb_adapter.sources.apigateway_v2 import API_GATEWAY_HTTP_V2, FUNCTION_URL, service
from alb_adapter.sources.apigateway_v2 import request as v2_request
from alb_adapter.sources.apigateway_v2.detect import is_function_url_event, is_http_api_event
from alb_adapter.sources.apigateway_v2.response import PAYLOAD_V2_MAX_JSON_BYTES, render_response
from tests.support import ALB_EVENTS, LAMBDA_EVENTS, SECRET

CORPUS = LAMBDA_EVENTS
ALB_CORPUS = ALB_EVENTS
MY_TYPES = {"apigw-http-v2": API_GATEWAY_HTTP_V2, "function-url": FUNCTION_URL}
CONFIG = Config()
NOW = 1_700_000_000.0  # 14/Nov/2023:22:13:20 +0000
TRACE = "Root=1-6553f0a0-0123456789abcdef01234567"
HTTP_API_HOST = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL_HOST = "abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"


def corpus_index() -> list[dict[str, str]]:
    """index.json of the shared event corpus, or nothing when it is not beside the repository."""
    if not CORPUS.is_dir():
        return []
    entries: list[dict[str, str]] = json.loads((CORPUS / "index.json").read_text())
    return entries


def load(name: str) -> dict[str, Any]:
    if not CORPUS.is_dir():
        pytest.skip("the shared Lambda event corpus is not beside the repository")
    event: dict[str, Any] = json.loads((CORPUS / name).read_text())
    return event


INDEX = corpus_index()
MY_REQUESTS = [e["file"] for e in INDEX if e["kind"] == "request" and e["type"] in MY_TYPES]
OTHERS = [e["file"] for e in INDEX if e["type"] not in MY_TYPES]
ALB_FILES = (
    sorted(str(p.relative_to(ALB_CORPUS)) for p in ALB_CORPUS.rglob("*.json"))
    if ALB_CORPUS.is_dir()
    else []
)
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="the shared Lambda event corpus is not beside the repository"
)


def file_type(name: str) -> str:
    return next(e["type"] for e in INDEX if e["file"] == name)


def event_for(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    **options: Any,
) -> dict[str, Any]:
    """The service's event for one request, with a fixed time and trace id."""
    return service.request_event(
        method, target, headers or [], body, now=NOW, trace_id=TRACE, **options
    )


def parse(event: dict[str, Any]) -> Request:
    source = find_source(event)
    assert source in (API_GATEWAY_HTTP_V2, FUNCTION_URL)
    return source.parse_event(event, "ctx", CONFIG)


# --- whole Requests: real events ------------------------------------------------------------


@needs_corpus
def test_the_documented_http_api_event() -> None:
    evt = load("aws-docs-apigateway/http-api-payload-2.0.json")
    assert parse(evt) == Request(
        method="POST",
        raw_path="/my/path",
        path=b"/my/path",
        root_path=b"",
        query_string="parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            ("header1", "value1"),
            ("header2", "value1,value2"),  # one header line, as the service joined it
            ("cookie", "cookie1; cookie2"),
        ),
        body=b"Hello from Lambda",
        scheme="https",
        server=("id.execute-api.us-east-1.amazonaws.com", 443),  # no Host: the domainName
        client=("192.0.2.1", 0),
        health_check=False,
        source="apigw-http-v2",
        event=evt,
        context="ctx",
    )


@needs_corpus
def test_a_real_function_url_capture_keeps_each_cookie_once() -> None:
    """The client's one Cookie header arrives both as `cookies` and as a `cookie` header."""
    evt = load("aws-lambda-go/function-url-request-with-headers-and-cookies-and-text-body.json")
    request = parse(evt)
    headers = [(name, value) for name, value in evt["headers"].items()]
    assert request == Request(
        method="POST",
        raw_path="/hello",
        path=b"/hello",
        root_path=b"",
        query_string="hello=world&foo=bar",
        headers=tuple(headers),  # its cookie header is exactly "foo=bar; hello=hello"
        body=b'{"hello": "world"}',
        scheme="https",
        server=("lambda-url-id.lambda-url.us-west-2.on.aws", 443),
        client=("127.0.0.1", 0),
        health_check=False,
        source="function-url",
        event=evt,
        context="ctx",
    )
    assert request.header("cookie") == "foo=bar; hello=hello"


@needs_corpus
def test_a_named_stage_is_the_root_path() -> None:
    evt = load("aws-lambda-dotnet/values-get-all-httpapi-v2-with-stage.json")
    assert parse(evt) == Request(
        method="GET",
        raw_path="/beta/api/values",
        path=b"/beta/api/values",
        root_path=b"/beta",
        query_string="",
        headers=tuple(evt["headers"].items()),
        body=b"",
        scheme="https",
        server=("uzdrcy3wk7.execute-api.us-east-1.amazonaws.com", 443),
        client=("192.182.149.40", 0),
        health_check=False,
        source="apigw-http-v2",
        event=evt,
        context="ctx",
    )


@needs_corpus
def test_sam_local_gives_http_and_its_port() -> None:
    request = parse(load("aws-lambda-rust-runtime/apigw_v2_sam_local.json"))
    assert (request.scheme, request.server, request.headers[0]) == (
        "http",
        ("127.0.0.1", 3000),
        ("host", "127.0.0.1:3000"),  # capitalised names in the event, lowercase here
    )


@needs_corpus
def test_hand_made_events_that_treat_http_api_raw_path_as_raw() -> None:
    """Two peers' events put ``%2F`` in an HTTP API's rawPath, as if it were raw. The service
    decodes rawPath, so there it means the client sent ``%252F``: it is never decoded again."""
    for name in (
        "apig-wsgi-tests/v2-path-encoded-slash.json",
        "aws-lambda-dotnet/rawtarget-escaped-slash-in-path-httpapi-v2.json",
    ):
        request = parse(load(name))
        assert unquote_to_bytes(request.raw_path) == request.path
        assert b"%2F" in request.path
        assert "%252F" in request.raw_path


# --- whole Requests: the edge cases ---------------------------------------------------------

AWKWARD_TARGET = "/beta/a%2Fb/100%25/two%20words/caf%C3%A9?q=a+b&q=c&list=x%2Cy&e="


def test_an_http_api_path_is_decoded_once_and_escaped_again() -> None:
    evt = event_for("GET", AWKWARD_TARGET, stage="beta")
    assert evt["rawPath"] == "/beta/a/b/100%/two words/café"  # what the service sends
    assert parse(evt) == Request(
        method="GET",
        raw_path="/beta/a/b/100%25/two%20words/caf%C3%A9",
        path="/beta/a/b/100%/two words/café".encode(),
        root_path=b"/beta",
        query_string="q=a+b&q=c&list=x%2Cy&e=",  # rawQueryString, never the decoded map
        headers=(
            ("host", HTTP_API_HOST),
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("x-amzn-trace-id", TRACE),
        ),
        body=b"",
        scheme="https",
        server=(HTTP_API_HOST, 443),
        client=("198.51.100.7", 0),
        health_check=False,
        source="apigw-http-v2",
        event=evt,
        context="ctx",
    )
    assert evt["queryStringParameters"] == {"q": "a b,c", "list": "x,y", "e": ""}


def test_a_function_url_path_is_kept_as_sent() -> None:
    evt = event_for("GET", AWKWARD_TARGET.removeprefix("/beta"), function_url=True)
    request = parse(evt)
    assert (request.raw_path, request.path, request.root_path, request.query_string) == (
        "/a%2Fb/100%25/two%20words/caf%C3%A9",
        "/a/b/100%/two words/café".encode(),
        b"",
        "q=a+b&q=c&list=x%2Cy&e=",
    )
    assert request.source == "function-url"


def test_a_stage_on_a_custom_domain_is_not_taken() -> None:
    """The API mapping picks the stage there, not the URL: base_path covers a prefix."""
    evt = event_for("GET", "/beta/items", stage="beta", host="api.example.com")
    assert evt["requestContext"]["domainName"] == "api.example.com"
    request = parse(evt)
    assert (request.root_path, request.path, request.server) == (
        b"",
        b"/beta/items",
        ("api.example.com", 443),
    )


@pytest.mark.parametrize(
    ("path", "root_path"),
    [("/beta", b"/beta"), ("/beta/", b"/beta"), ("/betamax/x", b""), ("/x/beta", b"")],
)
def test_the_stage_is_taken_on_a_segment_boundary(path: str, root_path: bytes) -> None:
    evt = event_for("GET", "/beta/x", stage="beta")
    evt["rawPath"] = path
    assert parse(evt).root_path == root_path


def test_the_default_stage_is_no_prefix() -> None:
    evt = event_for("GET", "/$default/x")
    assert evt["requestContext"]["stage"] == "$default"
    assert parse(evt).root_path == b""


@pytest.mark.parametrize("function_url", [False, True])
def test_cookies_reach_the_app_once(function_url: bool) -> None:
    evt = event_for(
        "GET",
        "/",
        [("Cookie", "a=1; b=2"), ("Accept", "*/*"), ("cookie", "c=3")],
        function_url=function_url,
    )
    assert evt["cookies"] == ["a=1", "b=2", "c=3"]
    assert ("cookie" in evt["headers"]) is function_url  # an HTTP API removes the header
    request = parse(evt)
    assert [value for name, value in request.headers if name == "cookie"] == ["a=1; b=2; c=3"]


@pytest.mark.parametrize(
    ("cookies", "header", "expected"),
    [
        (["a=1", "b=2"], "a=1; b=2", "a=1; b=2"),  # a Function URL: the header repeats the list
        (["a=1", "b=2"], "a=1,b=2", "a=1; b=2"),  # two header lines joined with a comma
        (["testcookie=abc"], "testcookie2=def", "testcookie=abc; testcookie2=def"),  # hand-made
        (["a=1"], None, "a=1"),
        ([], "a=1; b=2", "a=1; b=2"),
        (None, "a=1", "a=1"),
    ],
)
def test_the_cookie_header_adds_only_what_cookies_lacks(
    cookies: list[str] | None, header: str | None, expected: str
) -> None:
    evt = event_for("GET", "/", function_url=True)
    evt["cookies"] = cookies
    if header is not None:
        evt["headers"]["cookie"] = header
    assert parse(evt).header("cookie") == expected


# Header names as the services send them (lowercase), tokens they would have lowercased, and
# every kind of name no header has: empty, with a space, a colon, a control character, beyond
# ASCII, not a string at all. Each example draws its map from the header names and ASCII values
# alone or from all, so both paths are taken often.
TOKENS = st.sampled_from(["host", "accept", "x-forwarded-for", "cookie", "k", "Accept", "X-Y"])
HEADER_NAMES = (
    TOKENS
    | st.sampled_from(["", "a b", "a:b", "a\tb", "\x7f", "é", "\u212a", " lead", 7, None])
    | st.text(max_size=6)
)
ASCII_VALUES = st.sampled_from(["", "text/html", "a=1; b=2", "gzip, br"])
HEADER_VALUES = (
    ASCII_VALUES | st.sampled_from(["é", "\ud800", 3, None, ["a"]]) | st.text(max_size=8)
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([(TOKENS, ASCII_VALUES), (HEADER_NAMES, HEADER_VALUES)]).flatmap(
        lambda kinds: st.dictionaries(*kinds, max_size=5)
    )
)
def test_the_header_maps_fast_path_equals_the_walk(value: dict[Any, Any]) -> None:
    """The same pairs from both, or the same refusal (field and problem)."""
    answers: list[object] = []
    for read in (v2_request._headers, v2_request.walk_headers):
        try:
            answers.append(read(value))
        except InvalidEvent as exc:
            answers.append(("refused", exc.field, exc.problem))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("function_url", [False, True])
def test_the_services_own_headers_take_the_fast_path(
    function_url: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The equality above would hold with no fast path at all: this pins that what the services
    send takes it."""
    evt = event_for(
        "GET", "/", [("User-Agent", "curl/8.7.1"), ("Cookie", "a=1")], function_url=function_url
    )
    expected = parse(evt)

    def walked(value: object) -> object:
        raise AssertionError("walked")

    monkeypatch.setattr(v2_request, "walk_headers", walked)
    assert parse(evt) == expected


def test_a_binary_body_arrives_base64() -> None:
    png = bytes(range(256))
    evt = event_for("POST", "/upload", [("Content-Type", "image/png")], png)
    assert (evt["isBase64Encoded"], base64.b64decode(evt["body"])) == (True, png)
    assert parse(evt).body == png


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("application/json", False),
        ("text/html; charset=utf-8", False),
        ("application/xml", False),
        ("application/x-www-form-urlencoded", True),
        (None, True),
    ],
)
def test_the_services_base64_rule(content_type: str | None, encoded: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    evt = event_for("POST", "/", headers, b"k=v")
    assert evt["isBase64Encoded"] is encoded
    assert parse(evt).body == b"k=v"


def test_null_and_missing_fields_are_empty() -> None:
    evt: dict[str, Any] = {
        "version": "2.0",
        "rawPath": "",
        "rawQueryString": None,
        "headers": None,
        "cookies": None,
        "queryStringParameters": None,
        "requestContext": {"http": {"method": "DELETE", "sourceIp": None}},
        "body": None,
    }
    assert parse(evt) == Request(
        method="DELETE",
        raw_path="/",
        path=b"/",
        scheme="https",
        server=("localhost", 443),  # no Host and no domainName: the default_host option
        client=None,
        source="apigw-http-v2",
        event=evt,
        context="ctx",
    )


def test_without_a_host_header_the_server_is_the_domain_name() -> None:
    evt = event_for("GET", "/", function_url=True)
    del evt["headers"]["host"]
    assert parse(evt).server == (FUNCTION_URL_HOST, 443)


def test_the_client_is_the_source_ip_never_x_forwarded_for() -> None:
    evt = event_for("GET", "/", [("X-Forwarded-For", "6.6.6.6")], client_ip="203.0.113.9")
    assert evt["headers"]["x-forwarded-for"] == "6.6.6.6, 203.0.113.9"
    assert parse(evt).client == ("203.0.113.9", 0)
    assert parse(evt).client == parse(event_for("GET", "/", client_ip="203.0.113.9")).client


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20))
def test_any_decoded_path_escapes_to_what_it_is(text: str) -> None:
    """The raw path decodes back to exactly the path the service sent, and is URL-safe."""
    evt = event_for("GET", "/")
    evt["rawPath"] = "/" + text
    request = parse(evt)
    assert request.path == ("/" + text).encode()
    assert unquote_to_bytes(request.raw_path) == request.path
    assert request.raw_path.isascii()
    assert not set(request.raw_path) & set(" ?#")


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20))
def test_any_client_path_reaches_both_services_apps_alike(text: str) -> None:
    target = quote("/" + text)
    http_api = parse(event_for("GET", target))
    function_url = parse(event_for("GET", target, function_url=True))
    assert http_api.path == function_url.path == ("/" + text).encode()
    assert function_url.raw_path == target


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["requestContext"]["http"].pop("method"), "requestContext.http.method"),
        (lambda e: e["requestContext"]["http"].update(method="GE T"), "requestContext.http.method"),
        (lambda e: e.update(rawPath=None), "rawPath"),
        (lambda e: e.update(rawQueryString=["a=1"]), "rawQueryString"),
        (lambda e: e.update(headers=[["host", "h"]]), "headers"),
        (lambda e: e["headers"].update({"x-token": 7}), "headers['x-token']"),
        (lambda e: e["headers"].update({"bad name": "v"}), "headers"),
        (lambda e: e.update(cookies=f"session={SECRET}"), "cookies"),
        (lambda e: e.update(cookies=[f"session={SECRET}", 7]), "cookies[1]"),
        (lambda e: e["requestContext"]["http"].update(sourceIp=7), "requestContext.http.sourceIp"),
        (lambda e: e.update(isBase64Encoded="yes", body="eA=="), "isBase64Encoded"),
    ],
)
def test_bad_fields_are_named_never_quoted(change: Any, field: str) -> None:
    for function_url in (False, True):
        evt = event_for("GET", "/", function_url=function_url)
        change(evt)
        with pytest.raises(InvalidEvent) as caught:
            parse(evt)
        assert caught.value.field == field
        assert SECRET not in str(caught.value)


@pytest.mark.parametrize("handler_class", [WSGIHandler, ASGIHandler])
def test_an_undecodable_body_is_a_400_in_this_format(handler_class: Any) -> None:
    evt = event_for("POST", "/beta/x", stage="beta")
    evt.update(body="not base64!", isBase64Encoded=True)
    with pytest.raises(InvalidBody) as caught:
        parse(evt)
    assert caught.value.request is not None
    assert caught.value.request.root_path == b"/beta"
    with handler_class(echo_wsgi if handler_class is WSGIHandler else echo_asgi) as handler:
        answer = handler(evt, None)
    assert answer == {
        "statusCode": 400,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "cookies": [],
        "isBase64Encoded": False,
        "body": "Bad Request: the request body could not be decoded.\n",
    }


# --- detection ------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("name", MY_REQUESTS)
def test_every_event_of_these_types_is_recognised(name: str) -> None:
    evt = load(name)
    assert [source for source in all_sources() if source.matches(evt)] == [
        MY_TYPES[file_type(name)]
    ]


@needs_corpus
@pytest.mark.parametrize("name", OTHERS)
def test_no_other_lambda_event_is_claimed(name: str) -> None:
    evt = load(name)
    assert not is_http_api_event(evt)
    assert not is_function_url_event(evt)


@pytest.mark.skipif(not ALB_CORPUS.is_dir(), reason="the ALB event corpus is not beside us")
@pytest.mark.parametrize("name", ALB_FILES)
def test_no_alb_event_is_claimed(name: str) -> None:
    evt = json.loads((ALB_CORPUS / name).read_text())
    assert not is_http_api_event(evt)
    assert not is_function_url_event(evt)


def test_a_lattice_v2_event_is_not_taken_for_an_http_api_one() -> None:
    """Lattice V2 says "version": "2.0" too, but has no requestContext.http (the peers' KeyError)."""
    lattice = {
        "version": "2.0",
        "path": "/",
        "method": "GET",
        "headers": {"host": ["svc.vpc-lattice-svcs.us-east-1.on.aws"]},
        "requestContext": {"serviceNetworkArn": "arn", "targetGroupArn": "arn", "region": "x"},
    }
    assert not is_http_api_event(lattice)
    assert not is_function_url_event(lattice)
    for version in (2, "1.0", None):
        assert not is_http_api_event({**event_for("GET", "/"), "version": version})
    assert not is_http_api_event([])
    assert not is_function_url_event("2.0")


# --- every real event through both handlers ---------------------------------------------------


def echo_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"],
        "script_name": environ["SCRIPT_NAME"],
        "path": environ["PATH_INFO"].encode("latin-1").decode("utf-8", "surrogateescape"),
        "query": environ["QUERY_STRING"],
        "cookie": environ.get("HTTP_COOKIE"),
        "client": environ["REMOTE_ADDR"],
        "body": base64.b64encode(body).decode(),
    }
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
        ],
    )
    return [json.dumps(seen).encode()]


async def echo_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    cookies = [value.decode() for name, value in scope["headers"] if name == b"cookie"]
    root = scope["root_path"]
    seen = {
        "method": scope["method"],
        "script_name": root,
        "path": scope["path"][len(root) :],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "cookie": "; ".join(cookies) if cookies else None,
        "client": scope["client"][0] if scope["client"] else "",
        "body": base64.b64encode(body).decode(),
    }
    headers = [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1; Path=/"),
        (b"set-cookie", b"b=2; Path=/"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@pytest.fixture(params=["wsgi", "asgi"])
def handler(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "wsgi":
        with WSGIHandler(echo_wsgi) as wsgi:
            yield wsgi
    else:
        with ASGIHandler(echo_asgi, lifespan="off") as asgi:
            yield asgi


def expected_path(evt: dict[str, Any], source: str) -> bytes:
    raw = evt["rawPath"] or "/"
    return unquote_to_bytes(raw) if source == "function-url" else raw.encode()


def expected_client(source_ip: str | None) -> str:
    """The service's own address for the client, when it is one (samples write ``IP``)."""
    try:
        return str(ipaddress.ip_address(source_ip or ""))
    except ValueError:
        return ""


def expected_cookie(evt: dict[str, Any]) -> str | None:
    """Every cookie the client sent, once: `cookies`, then what a cookie header adds."""
    crumbs = list(evt.get("cookies") or [])
    header = {k.lower(): v for k, v in (evt.get("headers") or {}).items()}.get("cookie")
    for crumb in (header or "").split(";"):
        if crumb.strip() and crumb.strip() not in crumbs:
            crumbs.append(crumb.strip())
    return "; ".join(crumbs) or None


@needs_corpus
@pytest.mark.parametrize("name", MY_REQUESTS)
def test_every_real_event_through_both_handlers(name: str, handler: Any) -> None:
    evt = load(name)
    source = file_type(name)
    answer = service.parse_response(handler(evt, None))
    if name == "aws-lambda-dotnet/http-api-v2-request.json":
        # isBase64Encoded is true but the body is plain text: 400, the app is not called.
        assert answer.status == 400
        return
    assert answer.status == 200
    assert answer.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    seen = json.loads(answer.body)
    seen.pop("raw_path", None)  # ASGI only
    path = expected_path(evt, source).decode("utf-8", "surrogateescape")
    script_name = f"/{evt['requestContext']['stage']}" if parse(evt).root_path else ""
    body = evt.get("body") or ""
    assert seen == {
        "method": evt["requestContext"]["http"]["method"],
        "script_name": script_name,
        "path": path.removeprefix(script_name),
        "query": evt.get("rawQueryString") or "",  # every one is URL-safe as sent
        "cookie": expected_cookie(evt),
        "client": expected_client(evt["requestContext"]["http"].get("sourceIp")),
        "body": base64.b64encode(
            base64.b64decode(body) if evt.get("isBase64Encoded") else body.encode()
        ).decode(),
    }


@needs_corpus
@pytest.mark.parametrize("name", MY_REQUESTS)
def test_every_real_event_parses_back_to_its_own_raw_path(name: str) -> None:
    evt = load(name)
    request: Request | None
    try:
        request = parse(evt)
    except InvalidBody as exc:
        request = exc.request
    assert request is not None
    assert unquote_to_bytes(request.raw_path) == request.path
    assert request.path.startswith(request.root_path)


# --- the expected responses in the corpus ---------------------------------------------------


def app_answering(status: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return [body]

    return app


@needs_corpus
@pytest.mark.parametrize(
    ("request_file", "response_file", "headers", "body"),
    [
        (
            "mangum-tests/http-v2-set-cookies-event.json",
            "mangum-tests/expected-response-http-v2-set-cookies.json",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Set-Cookie", "cookie1=cookie1; Secure"),
                ("Set-Cookie", "cookie2=cookie2; Secure"),
                ("multivalue", "foo"),
                ("multivalue", "bar"),
            ],
            b"Hello, world!",
        ),
        (
            "apig-wsgi-tests/v2-get-default.json",
            "apig-wsgi-tests/expected-response-v2-set-two-cookies.json",
            [
                ("Content-Type", "text/plain"),
                ("Set-Cookie", "testcookie=abc; Path=/; SameSite=strict"),
                ("Set-Cookie", "testcookie2=def; Path=/; SameSite=strict"),
            ],
            b"Hello World\n",
        ),
    ],
)
def test_the_peers_expected_answers(
    request_file: str, response_file: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    with WSGIHandler(app_answering("200 OK", headers, body)) as wsgi:
        assert wsgi(load(request_file), None) == load(response_file)


@needs_corpus
def test_the_function_url_documented_answer() -> None:
    """The same answer for the client as the Lambda guide's example (names differ in case only)."""
    documented = load("aws-lambda-go/lambda-urls-response.json")
    app = app_answering(
        "201 Created",
        [
            ("Content-Type", "application/json"),
            ("My-Custom-Header", "Custom Value"),
            ("Set-Cookie", "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT"),
            ("Set-Cookie", "Cookie_2=Value2; Max-Age=78000"),
        ],
        documented["body"].encode(),
    )
    with WSGIHandler(app) as wsgi:
        ours = wsgi(load("aws-lambda-go/lambda-urls-request.json"), None)
    assert ours["cookies"] == documented["cookies"]
    assert service.parse_response(ours) == service.parse_response(documented)


@needs_corpus
def test_a_response_with_multi_value_headers_loses_them(caplog: pytest.LogCaptureFixture) -> None:
    """The Java library's response carries a Set-Cookie in multiValueHeaders, which payload 2.0
    does not have: only the `cookies` one reaches the client."""
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        answer = service.parse_response(load("aws-lambda-java-libs/apigw_v2_http_response.json"))
    assert answer.headers == (
        ("content-type", "application/json"),
        ("set-cookie", "session=abc123; Secure; HttpOnly"),
    )
    assert "multiValueHeaders" in caplog.text


# --- round trips: the service's event -> handler -> the service's reading ---------------------


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.route("/where/<path:rest>", methods=["GET", "POST"])
    def where(rest: str) -> Any:
        answer = jsonify(
            method=flask_request.method,
            url=url_for("where", rest=rest, _external=True),
            script_name=flask_request.script_root,
            path=flask_request.path,
            query=flask_request.query_string.decode(),
            args=flask_request.args.to_dict(flat=False),
            cookies=flask_request.cookies.to_dict(),
            agent=flask_request.headers.get("X-Probe"),
            body=flask_request.get_data(as_text=True),
            client=flask_request.remote_addr,
        )
        answer.set_cookie("first", "1")
        answer.set_cookie("second", "2", path="/where")
        return answer

    return app


ROUND_TRIP = "/where/two%20words/100%25/caf%C3%A9?q=a+b&q=c%2Cd&e="


@pytest.mark.parametrize(
    ("options", "prefix", "url_base"),
    [
        ({"stage": "beta"}, "/beta", f"https://{HTTP_API_HOST}/beta"),
        ({}, "", f"https://{HTTP_API_HOST}"),
        ({"stage": "beta", "host": "api.example.com"}, "", "https://api.example.com"),
        ({"function_url": True}, "", f"https://{FUNCTION_URL_HOST}"),
    ],
    ids=["named-stage", "default-stage", "custom-domain", "function-url"],
)
def test_flask_round_trip(options: dict[str, Any], prefix: str, url_base: str) -> None:
    evt = service.request_event(
        "POST",
        prefix + ROUND_TRIP,
        [("Cookie", "s=1; t=2"), ("Content-Type", "application/json"), ("X-Probe", "yes")],
        b'{"k": "v"}',
        client_ip="203.0.113.9",
        **options,
    )
    with WSGIHandler(flask_app()) as wsgi:
        answer = service.parse_response(wsgi(evt, None))
    assert answer.status == 200
    assert answer.header_values("set-cookie") == [
        "first=1; Path=/",
        "second=2; Path=/where",
    ]
    assert json.loads(answer.body) == {
        "method": "POST",
        "url": f"{url_base}/where/two%20words/100%25/caf%C3%A9",
        "script_name": prefix,
        "path": "/where/two words/100%/café",
        "query": "q=a+b&q=c%2Cd&e=",
        "args": {"q": ["a b", "c,d"], "e": [""]},
        "cookies": {"s": "1", "t": "2"},
        "agent": "yes",
        "body": '{"k": "v"}',
        "client": "203.0.113.9",
    }


@pytest.mark.parametrize("function_url", [False, True])
def test_asgi_round_trip(function_url: bool) -> None:
    options: dict[str, Any] = {"function_url": True} if function_url else {"stage": "beta"}
    prefix = "" if function_url else "/beta"
    evt = service.request_event(
        "PUT",
        prefix + ROUND_TRIP,
        [("cookie", "s=1"), ("Content-Type", "application/octet-stream")],
        bytes(range(256)),
        client_ip="203.0.113.9",
        **options,
    )
    with ASGIHandler(echo_asgi, lifespan="off") as asgi:
        answer = service.parse_response(asgi(evt, None))
    assert json.loads(answer.body) == {
        "method": "PUT",
        "script_name": prefix,
        "path": "/where/two words/100%/café",
        # An HTTP API sent the path decoded: the raw path is escaped again, the same bytes.
        "raw_path": prefix + "/where/two%20words/100%25/caf%C3%A9",
        "query": "q=a+b&q=c%2Cd&e=",
        "cookie": "s=1",
        "client": "203.0.113.9",
        "body": base64.b64encode(bytes(range(256))).decode(),
    }
    assert answer.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]


def test_base_path_after_the_stage() -> None:
    evt = service.request_event("GET", "/beta/shop/where/x", stage="beta")
    with WSGIHandler(flask_app(), base_path="/shop") as wsgi:
        seen = json.loads(service.parse_response(wsgi(evt, None)).body)
    assert (seen["script_name"], seen["path"], seen["url"]) == (
        "/beta/shop",
        "/where/x",
        f"https://{HTTP_API_HOST}/beta/shop/where/x",
    )


def test_the_event_the_http_api_builds() -> None:
    evt = event_for(
        "GET",
        "/beta/x?a=1",
        [("User-Agent", "curl/8"), ("Cookie", "s=1"), ("Accept", "a"), ("accept", "b")],
        stage="beta",
        client_ip="203.0.113.9",
    )
    context = evt.pop("requestContext")
    assert evt == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/beta/x",
        "rawQueryString": "a=1",
        "cookies": ["s=1"],
        "headers": {
            "accept": "a,b",
            "host": HTTP_API_HOST,
            "user-agent": "curl/8",
            "x-amzn-trace-id": TRACE,
            "x-forwarded-for": "203.0.113.9",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "queryStringParameters": {"a": "1"},
        "isBase64Encoded": False,
    }
    request_id = context.pop("requestId")
    assert len(request_id) == 16
    assert request_id.endswith("=")
    assert context == {
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5",
        "domainName": HTTP_API_HOST,
        "domainPrefix": "a1b2c3d4e5",
        "http": {
            "method": "GET",
            "path": "/beta/x",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9",
            "userAgent": "curl/8",
        },
        "routeKey": "$default",
        "stage": "beta",
        "time": "14/Nov/2023:22:13:20 +0000",
        "timeEpoch": 1_700_000_000_000,
    }


def test_a_function_url_event_has_its_placeholders() -> None:
    evt = event_for("GET", "/", function_url=True)
    context = evt["requestContext"]
    assert (context["accountId"], context["stage"], context["routeKey"]) == (
        "anonymous",
        "$default",
        "$default",
    )
    assert len(context["apiId"]) == 32
    assert len(context["requestId"]) == 36
    assert evt["headers"]["x-amzn-tls-version"].startswith("TLS")


def test_the_event_builder_refuses_what_the_service_would() -> None:
    with pytest.raises(ValueError, match="stage"):
        service.request_event("GET", "/x", stage="beta")  # the stage is not in the URL
    with pytest.raises(ValueError, match="Function URL"):
        service.request_event("GET", "/beta/x", function_url=True, stage="beta")


# --- the service reading answers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        ({"message": "hi"}, b'{"message": "hi"}'),
        ("Hello, world!", b'"Hello, world!"'),
        ([1, 2], b"[1, 2]"),
        ({"body": "x", "headers": {}}, b'{"body": "x", "headers": {}}'),
    ],
)
def test_an_answer_without_status_code_is_inferred(payload: object, body: bytes) -> None:
    assert service.parse_response(payload) == Response(
        200, (("content-type", "application/json"),), body
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"statusCode": "200"}, "statusCode must be an integer from 100 to 599, got str"),
        ({"statusCode": 600}, "statusCode must be an integer from 100 to 599, got 600"),
        ({"statusCode": True}, "statusCode must be an integer from 100 to 599, got bool"),
        ({"statusCode": 200, "headers": []}, "headers must be an object of strings, got list"),
        ({"statusCode": 200, "headers": {"x-token": 7}}, "headers['x-token'] must be a string"),
        ({"statusCode": 200, "cookies": f"s={SECRET}"}, "cookies must be a list of strings"),
        ({"statusCode": 200, "cookies": [None]}, "cookies[0] must be a string, got null"),
        ({"statusCode": 200, "body": {"a": SECRET}}, "body must be a string, got dict"),
        ({"statusCode": 200, "isBase64Encoded": "true"}, "isBase64Encoded must be true or false"),
        (
            {"statusCode": 200, "isBase64Encoded": True, "body": SECRET + "!"},
            "isBase64Encoded is true but body is not valid base64",
        ),
    ],
)
def test_answers_the_service_refuses(payload: object, message: str) -> None:
    with pytest.raises(InvalidResponse) as caught:
        service.parse_response(payload)
    assert str(caught.value).startswith(message)
    assert SECRET not in str(caught.value)


def test_an_answer_over_six_megabytes_is_refused() -> None:
    payload = {"statusCode": 200, "body": "x" * PAYLOAD_V2_MAX_JSON_BYTES}
    with pytest.raises(InvalidResponse, match="over Lambda's limit of 6291456"):
        service.parse_response(payload)


def test_the_services_own_errors() -> None:
    assert (service.HTTP_API_ERROR_STATUS, service.HTTP_API_ERROR_BODY) == (
        500,
        b'{"message":"Internal Server Error"}',
    )
    assert service.FUNCTION_URL_ERROR_STATUS == 502


# --- rendering ------------------------------------------------------------------------------


def render(response: Response, method: str = "GET", **config: Any) -> dict[str, object]:
    request = parse(event_for(method, "/", [("Accept-Encoding", "gzip")]))
    return render_response(response, request, Config(**config))


def test_every_set_cookie_goes_to_cookies_and_others_are_joined() -> None:
    response = Response(
        201,
        (
            ("Set-Cookie", "a=1"),
            ("Vary", "Accept"),
            ("set-cookie", "b=2; Path=/"),
            ("Vary", "Cookie"),
            ("Content-Type", "text/plain"),
            ("Connection", "close"),
            ("Content-Length", "2"),
            ("Set-Cookie", "a=3; Path=/x"),
        ),
        b"hi",
        reason="Made",
    )
    assert render(response) == {
        "statusCode": 201,
        "headers": {"vary": "Accept,Cookie", "content-type": "text/plain"},
        "cookies": ["a=1", "b=2; Path=/", "a=3; Path=/x"],
        "isBase64Encoded": False,
        "body": "hi",
    }


def test_a_binary_body_is_base64_and_text_stays_text() -> None:
    png = Response(200, (("Content-Type", "image/png"),), b"\x89PNG\x00")
    assert render(png)["isBase64Encoded"] is True
    assert render(png)["body"] == base64.b64encode(b"\x89PNG\x00").decode()
    svg = Response(200, (("Content-Type", "image/svg+xml"),), b"<svg/>")
    assert (render(svg)["isBase64Encoded"], render(svg)["body"]) == (False, "<svg/>")
    configured = render(png, text_content_types=["image/png"])
    assert configured["isBase64Encoded"] is True  # not UTF-8: base64 keeps the bytes


def test_a_head_answer_has_no_body() -> None:
    response = Response(200, (("Content-Type", "text/plain"), ("Set-Cookie", "a=1")), b"body")
    assert render(response, "HEAD") == {
        "statusCode": 200,
        "headers": {"content-type": "text/plain"},
        "cookies": ["a=1"],
        "isBase64Encoded": False,
        "body": "",
    }


def test_what_no_service_may_receive_is_an_app_error() -> None:
    with pytest.raises(AppError):
        render(Response(99))
    with pytest.raises(AppError):
        render(Response(200, (("X-Bad", "a\r\nSet-Cookie: x=1"),)))


def test_the_limit_is_six_megabytes() -> None:
    request = parse(event_for("GET", "/"))
    big = Response(200, (("Content-Type", "text/plain"),), b"x" * PAYLOAD_V2_MAX_JSON_BYTES)
    with pytest.raises(ResponseTooLarge) as caught:
        render_response(big, request, CONFIG)
    assert caught.value.limit == 6_291_456


def test_an_oversized_body_is_gzipped_when_the_client_accepts_it() -> None:
    text = b"abc" * 2000
    response = Response(200, (("Content-Type", "text/plain"), ("ETag", '"v1"')), text)
    answer = render(response, max_response_bytes=2048)
    assert answer["headers"] == {
        "content-type": "text/plain",
        "etag": 'W/"v1"',
        "content-encoding": "gzip",
        "vary": "Accept-Encoding",
    }
    import gzip

    assert answer["isBase64Encoded"] is True
    assert gzip.decompress(base64.b64decode(str(answer["body"]))) == text


def test_an_oversized_answer_is_a_502_that_says_why() -> None:
    noise = os.urandom(4000)  # gzip cannot shrink it
    app = app_answering("200 OK", [("Content-Type", "application/octet-stream")], noise)
    with WSGIHandler(app, max_response_bytes=4096) as wsgi:
        answer = wsgi(event_for("GET", "/", [("Accept-Encoding", "gzip")]), None)
    assert answer["statusCode"] == 502
    assert str(answer["body"]).startswith("Bad Gateway: the response is larger than")
    assert set(answer) == {"statusCode", "headers", "cookies", "isBase64Encoded", "body"}


@pytest.mark.parametrize("function_url", [False, True], ids=["http-api", "function-url"])
@pytest.mark.parametrize(
    ("source_ip", "client"),
    [
        ("198.51.100.7", ("198.51.100.7", 0)),
        ("2001:db8::1", ("2001:db8::1", 0)),
        ("test-invoke-source-ip", None),  # the console's test button
        ("IP", None),  # samples' placeholder
        ("192.168.0.1/32", None),
        ("", None),
        (None, None),
    ],
)
def test_the_client_is_the_source_ip_when_it_is_an_address_never_x_forwarded_for(
    function_url: bool, source_ip: str | None, client: tuple[str, int] | None
) -> None:
    # The same reader as payload 1.0's (sources/fields.py, service_address).
    event = event_for(
        "GET", "/", [("x-forwarded-for", "6.6.6.6, 203.0.113.9")], function_url=function_url
    )
    event["requestContext"]["http"]["sourceIp"] = source_ip
    assert parse(event).client == client
