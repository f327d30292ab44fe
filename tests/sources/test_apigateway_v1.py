"""API Gateway payload 1.0 (sources/apigateway_v1/): REST APIs and HTTP APIs with payload 1.0.

Detection against both event corpora, whole Requests for real and hand-built events, every corpus
request through both handlers, the rendering rules, and round trips through the services' own side
(service.py) with Flask and a plain ASGI app. The rules are in docs/sources/apigateway_v1.md.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alb_adapter import (
    AppError,
    ASGIHandler,
    Config,
    InvalidBody,
    InvalidEvent,
    ResponseTooLarge,
    WSGIHandler,
)
from alb_adapter.errors import InvalidResponse
from alb_adapter.model import Request, Response
from alb_adapter.sources import find_source
from alb_adapter.sources.apigateway_v1 import API_GATEWAY_HTTP_V1, API_GATEWAY_REST, service
from alb_adapter.sources.apigateway_v1 import request as v1_request
from alb_adapter.sources.apigateway_v1.detect import is_http_v1_event, is_rest_event
from alb_adapter.sources.apigateway_v1.request import parse_http_v1_event, parse_rest_event
from alb_adapter.sources.apigateway_v1.response import APIGW_V1_MAX_JSON_BYTES, render_response
from alb_adapter.testing import LambdaContext
from alb_adapter.wsgi import build_environ
from tests.support import ALB_EVENTS, LAMBDA_EVENTS, SECRET

CORPUS = LAMBDA_EVENTS
ALB_CORPUS = ALB_EVENTS
MY_TYPES = {"apigw-rest", "apigw-http-v1"}
CONFIG = Config()
HOST = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"


def index() -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    entries: list[dict[str, str]] = json.loads((CORPUS / "index.json").read_text())
    return entries


def corpus_files(kinds: set[str], types: set[str] | None = None) -> list[str]:
    """Files of the corpus by kind and type; none (so the tests are skipped) without it."""
    return [
        entry["file"]
        for entry in index()
        if entry["kind"] in kinds and (types is None or entry["type"] in types)
    ]


def load(name: str) -> dict[str, Any]:
    if not CORPUS.is_dir():
        pytest.skip(f"the Lambda event corpus is not at {CORPUS}")
    event: dict[str, Any] = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return event


def type_of(name: str) -> str:
    return next(entry["type"] for entry in index() if entry["file"] == name)


def parse(event: dict[str, Any], config: Config = CONFIG) -> Request:
    """Parse with the source the registry picks, as the handler does."""
    source = find_source(event)
    assert source in (API_GATEWAY_REST, API_GATEWAY_HTTP_V1)
    return source.parse_event(event, "ctx", config)


def multi_headers(event: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The event's multiValueHeaders as the Request holds them: names lowercased, in order."""
    return tuple(
        (name.lower(), value)
        for name, values in event["multiValueHeaders"].items()
        for value in values
    )


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("name", corpus_files({"request"}, MY_TYPES))
def test_each_source_claims_exactly_its_own_corpus_files(name: str) -> None:
    event = load(name)
    rest = type_of(name) == "apigw-rest"
    assert (is_rest_event(event), is_http_v1_event(event)) == (rest, not rest)
    assert find_source(event) is (API_GATEWAY_REST if rest else API_GATEWAY_HTTP_V1)


@pytest.mark.parametrize(
    "name",
    [
        entry["file"]
        for entry in index()
        if entry["type"] not in MY_TYPES and entry["kind"] in ("request", "non-http", "fragment")
    ],
)
def test_every_other_event_is_refused(name: str) -> None:
    event = load(name)
    assert (is_rest_event(event), is_http_v1_event(event)) == (False, False)


@pytest.mark.parametrize(
    "name",
    sorted(str(path.relative_to(ALB_CORPUS)) for path in ALB_CORPUS.rglob("*.json"))
    if ALB_CORPUS.is_dir()
    else [],
)
def test_no_alb_event_is_claimed(name: str) -> None:
    event = json.loads((ALB_CORPUS / name).read_text(encoding="utf-8"))
    assert (is_rest_event(event), is_http_v1_event(event)) == (False, False)


def test_the_close_shapes_are_told_apart() -> None:
    rest = rest_event()
    websocket = rest_event()
    websocket["requestContext"].update(eventType="CONNECT", connectionId="abc=")
    sam_local = {**rest_event(), "version": "1.0"}  # SAM CLI's REST emulation says 1.0 ...
    http_v1 = {**rest_event(), "version": "1.0"}
    http_v1["requestContext"]["resourceId"] = None  # ... an HTTP API has no resource ids
    numeric = {**http_v1, "version": 2}  # a .NET fixture's 1.0 event
    v2 = {**http_v1, "version": "2.0"}
    no_resource = {key: value for key, value in rest.items() if key != "resource"}
    # (is REST, is HTTP API 1.0) for each shape
    expected: dict[str, tuple[object, tuple[bool, bool]]] = {
        "rest": (rest, (True, False)),
        "websocket": (websocket, (False, False)),
        "sam local": (sam_local, (True, False)),
        "http v1": (http_v1, (False, True)),
        "numeric version": (numeric, (False, True)),
        "payload 2.0": (v2, (False, False)),
        "no resource": (no_resource, (False, False)),
        "list": ([], (False, False)),
        "str": ("GET", (False, False)),
        "null": (None, (False, False)),
    }
    assert {
        label: (is_rest_event(event), is_http_v1_event(event))
        for label, (event, _) in expected.items()
    } == {label: answer for label, (_, answer) in expected.items()}


# --------------------------------------------------------------------------- whole requests


def test_a_real_rest_capture_on_the_execute_api_host() -> None:
    """Stage `prod` on the execute-api host: the client's URL was /prod/no-auth."""
    event = load("powertools-typescript/apigw-rest-no-auth.json")
    assert parse(event) == Request(
        method="POST",
        raw_path="/prod/no-auth",
        path=b"/prod/no-auth",
        root_path=b"/prod",
        query_string="",
        headers=multi_headers(event),
        body=b"",
        scheme="https",
        server=("puhdx84jy9.execute-api.eu-west-1.amazonaws.com", 443),
        client=("15.248.3.126", 0),  # identity.sourceIp, not X-Forwarded-For's CloudFront hops
        health_check=False,
        source="apigw-rest",
        event=event,
        context="ctx",
    )


def test_a_custom_domain_has_no_stage_prefix() -> None:
    event = load("serverless-wsgi-tests/event-v1-custom-domain.json")
    assert parse(event) == Request(
        method="GET",
        raw_path="/some/path",
        path=b"/some/path",
        root_path=b"",
        query_string="param1=value1&param2=value2",
        headers=tuple((name.lower(), value) for name, value in event["headers"].items()),
        scheme="https",
        server=("custom.domain.com", 443),
        client=("76.20.166.147", 0),
        source="apigw-rest",
        event=event,
        context="ctx",
    )


def test_a_console_test_invocation() -> None:
    """No header map at all, decoded query values (a literal '+'), no address."""
    event = load("aws-lambda-dotnet/values-get-querystring-apigateway-encoding-request.json")
    assert parse(event) == Request(
        method="GET",
        raw_path="/api/rawquerystring/json",
        path=b"/api/rawquerystring/json",
        query_string="url=http%3A%2F%2Fwww.gooogle.com"
        "&testDateTimeOffset=2019-03-12T16%3A06%3A06.549817%2B00%3A00",
        headers=(),
        scheme="https",
        server=("localhost", 443),
        client=("127.0.0.1", 0),
        source="apigw-rest",
        event=event,
        context="ctx",
    )


def test_a_binary_body_and_the_content_length_the_service_dropped() -> None:
    event = load("mangum-tests/rest-post-img-gif-base64.json")
    gif = base64.b64decode(event["body"])
    assert parse(event) == Request(
        method="POST",
        raw_path="/Prod/img",
        path=b"/Prod/img",
        root_path=b"/Prod",
        headers=(
            *((name.lower(), value) for name, value in event["headers"].items()),
            ("content-length", "35"),
        ),
        body=gif,
        scheme="https",
        server=("test.execute-api.us-west-2.amazonaws.com", 443),
        client=("192.168.100.1", 0),
        source="apigw-rest",
        event=event,
        context="ctx",
    )


def test_sam_local_is_plain_http_without_a_stage_in_the_url() -> None:
    event = load("aws-lambda-rust-runtime/example-apigw-sam-rest-request.json")
    request = parse(event)
    assert (request.source, request.raw_path, request.root_path) == ("apigw-rest", "/test", b"")
    assert (request.scheme, request.server, request.client) == (
        "http",
        ("127.0.0.1", 3000),
        ("127.0.0.1", 0),
    )


def test_the_http_api_payload_1_documentation_example() -> None:
    event = load("aws-docs-apigateway/http-api-payload-1.0.json")
    assert parse(event) == Request(
        method="GET",
        raw_path="/my/path",
        path=b"/my/path",
        query_string="parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            ("header1", "value1"),
            ("header2", "value1"),
            ("header2", "value2"),
            ("content-length", "18"),
        ),
        body=b"Hello from Lambda!",
        scheme="https",
        server=("id.execute-api.us-east-1.amazonaws.com", 443),  # no Host: the domainName
        client=("192.0.2.1", 0),
        source="apigw-http-v1",
        event=event,
        context="ctx",
    )


def test_a_captured_http_api_payload_1_event() -> None:
    """`"version": 2` as a number, `isBase64Encoded: true` with `body: null`."""
    event = load("aws-lambda-dotnet/values-get-all-httpapi-request.json")
    assert parse(event) == Request(
        method="GET",
        raw_path="/api/resourcepath",
        path=b"/api/resourcepath",
        headers=multi_headers(event),
        scheme="https",
        server=("atm5u4y7o1.execute-api.us-west-2.amazonaws.com", 443),
        client=("192.182.149.40", 0),
        source="apigw-http-v1",
        event=event,
        context="ctx",
    )


def rest_event(**fields: Any) -> dict[str, Any]:
    """A REST API event shaped like a live capture (stage `live`, on the execute-api host)."""
    event: dict[str, Any] = {
        "resource": "/{proxy+}",
        "path": "/capture/space%20value",
        "httpMethod": "POST",
        "headers": {
            "Host": HOST,
            "User-Agent": "curl/8.7.1",
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
            "content-type": "application/json",
            "cookie": "session=abc123; theme=dark",
            "x-probe": "second",
        },
        "multiValueHeaders": {
            "Host": [HOST],
            "User-Agent": ["curl/8.7.1"],
            "X-Forwarded-For": ["203.0.113.9"],
            "X-Forwarded-Port": ["443"],
            "X-Forwarded-Proto": ["https"],
            "content-type": ["application/json"],
            "cookie": ["session=abc123; theme=dark"],
            "x-probe": ["first", "second"],
        },
        "queryStringParameters": {"repeat": "two", "literalPlus": "a b", "encodedPlus": "a+b"},
        "multiValueQueryStringParameters": {
            "repeat": ["one", "two"],
            "literalPlus": ["a b"],
            "encodedPlus": ["a+b"],
        },
        "pathParameters": {"proxy": "capture/space%20value"},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "al6gqb",
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "path": "/live/capture/space%20value",
            "stage": "live",
            "domainName": HOST,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "curl/8.7.1"},
        },
        "body": '{"unicode":"lambda-λ"}',
        "isBase64Encoded": False,
    }
    event.update(fields)
    return event


def http_v1_event(path: str, stage: str = "$default", **fields: Any) -> dict[str, Any]:
    event = rest_event(version="1.0", path=path, **fields)
    event["requestContext"].update(stage=stage, resourceId=None)
    return event


def test_a_whole_hand_built_rest_request() -> None:
    event = rest_event()
    assert parse(event) == Request(
        method="POST",
        raw_path="/live/capture/space%20value",
        path=b"/live/capture/space value",
        root_path=b"/live",
        query_string="repeat=one&repeat=two&literalPlus=a+b&encodedPlus=a%2Bb",
        headers=(
            ("host", HOST),
            ("user-agent", "curl/8.7.1"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-proto", "https"),
            ("content-type", "application/json"),
            ("cookie", "session=abc123; theme=dark"),
            ("x-probe", "first"),
            ("x-probe", "second"),
            ("content-length", "23"),
        ),
        body='{"unicode":"lambda-λ"}'.encode(),
        scheme="https",
        server=(HOST, 443),
        client=("203.0.113.9", 0),
        source="apigw-rest",
        event=event,
        context="ctx",
    )


def test_a_whole_hand_built_http_api_request() -> None:
    """A named stage on the execute-api host, a decoded path, split cookies, a binary body."""
    event = http_v1_event(
        "/dev/files/100%/a b",
        "dev",
        headers=None,
        multiValueHeaders={
            "host": [HOST],
            "cookie": ["session=abc123", "theme=dark"],
            "content-type": ["image/png"],
            "content-length": ["3"],
        },
        multiValueQueryStringParameters={"tag": ["a,b", "c"]},
        queryStringParameters={"tag": "c"},
        body="iVBO",
        isBase64Encoded=True,
    )
    assert parse(event) == Request(
        method="POST",
        raw_path="/dev/files/100%25/a%20b",
        path=b"/dev/files/100%/a b",
        root_path=b"/dev",
        query_string="tag=a%2Cb&tag=c",
        headers=(
            ("host", HOST),
            ("cookie", "session=abc123"),
            ("cookie", "theme=dark"),
            ("content-type", "image/png"),
            ("content-length", "3"),
        ),
        body=b"\x89PN",
        scheme="https",
        server=(HOST, 443),
        client=("203.0.113.9", 0),
        source="apigw-http-v1",
        event=event,
        context="ctx",
    )


@pytest.mark.parametrize(
    ("path", "raw_path", "decoded"),
    [
        ("/", "/live/", b"/live/"),
        ("/a%2Fb/100%25/x%3Fy", "/live/a%2Fb/100%25/x%3Fy", b"/live/a/b/100%/x?y"),
        ("/caf%C3%A9/%E2%82%AC", "/live/caf%C3%A9/%E2%82%AC", "/live/café/€".encode()),
        ("/bad%FF", "/live/bad%FF", b"/live/bad\xff"),  # escapes that are not UTF-8 stay bytes
        # A hand-made event with what a client cannot send literally: escaped, once.
        ("/a b/café", "/live/a%20b/caf%C3%A9", "/live/a b/café".encode()),
    ],
)
def test_a_rest_path_is_raw_and_decoded_once(path: str, raw_path: str, decoded: bytes) -> None:
    request = parse(rest_event(path=path))
    assert (request.raw_path, request.path, request.root_path) == (raw_path, decoded, b"/live")


@pytest.mark.parametrize(
    ("context", "host", "root_path"),
    [
        ({"domainName": "api.example.com"}, HOST, b""),  # the domainName decides ...
        ({"domainName": None}, HOST, b"/live"),  # ... or, without one, the Host header
        ({"domainName": None}, "api.example.com", b""),
        ({"domainName": "x.execute-api.cn-north-1.amazonaws.com.cn"}, HOST, b"/live"),
        ({"domainName": "127.0.0.1:3000"}, "127.0.0.1:3000", b""),  # SAM local
        ({"stage": None}, HOST, b""),
        ({"stage": "$default"}, HOST, b""),
    ],
)
def test_the_stage_prefix_only_where_the_url_carries_it(
    context: dict[str, Any], host: str, root_path: bytes
) -> None:
    event = rest_event(path="/x", headers=None, multiValueHeaders={"Host": [host]})
    event["requestContext"].update(context)
    request = parse(event)
    assert (request.raw_path, request.path, request.root_path) == (
        root_path.decode() + "/x",
        root_path + b"/x",
        root_path,
    )


@pytest.mark.parametrize(
    ("path", "stage", "raw_path", "decoded", "root_path"),
    [
        ("/dev/items/1", "dev", "/dev/items/1", b"/dev/items/1", b"/dev"),
        ("/dev", "dev", "/dev", b"/dev", b"/dev"),
        ("/devices", "dev", "/devices", b"/devices", b""),  # not on a segment boundary
        ("/items/1", "dev", "/items/1", b"/items/1", b""),  # a hand-made event without it
        ("/items/1", "$default", "/items/1", b"/items/1", b""),
        ("", "$default", "/", b"/", b""),
        # Decoded by the service: re-encoded only where it cannot appear in a URL.
        (
            "/dev/a b/100%/a/b?c#d/café",
            "dev",
            "/dev/a%20b/100%25/a/b%3Fc%23d/caf%C3%A9",
            "/dev/a b/100%/a/b?c#d/café".encode(),
            b"/dev",
        ),
        ("/api/path%2Finfo", "$default", "/api/path%252Finfo", b"/api/path%2Finfo", b""),
    ],
)
def test_an_http_api_path_is_decoded_with_its_stage(
    path: str, stage: str, raw_path: str, decoded: bytes, root_path: bytes
) -> None:
    request = parse(http_v1_event(path, stage))
    assert request.source == "apigw-http-v1"
    assert (request.raw_path, request.path, request.root_path) == (raw_path, decoded, root_path)


def test_an_http_api_named_stage_on_a_custom_domain_is_left_to_base_path() -> None:
    event = http_v1_event("/dev/items", "dev")
    event["requestContext"]["domainName"] = "api.example.com"
    assert parse(event).root_path == b""
    environ = build_environ(parse(event), Config(base_path="/dev"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/dev", "/items")


@pytest.mark.parametrize(
    ("multi", "single", "query"),
    [
        ({"a": ["1", "2"], "b": ["3"]}, None, "a=1&a=2&b=3"),  # a=1&b=3&a=2 arrives grouped
        ({"list": ["a,b", "c"]}, {"list": "c"}, "list=a%2Cb&list=c"),
        ({"q": ["a b+c"]}, None, "q=a+b%2Bc"),
        (
            {"redirect": ["https://e.com/a?b=c&d"]},
            None,
            "redirect=https%3A%2F%2Fe.com%2Fa%3Fb%3Dc%26d",
        ),
        ({"k&=": ["100%"]}, None, "k%26%3D=100%25"),
        ({"city": ["Zürich"], "sym": ["€"]}, None, "city=Z%C3%BCrich&sym=%E2%82%AC"),
        ({"safe": ["*-._~"]}, None, "safe=*-._%7E"),
        ({"empty": [""], "none": []}, None, "empty="),
        ({"bare": "one"}, None, "bare=one"),  # a bare string in a hand-made event
        (None, {"a": "1", "b": "2"}, "a=1&b=2"),
        ({"a": ["1"]}, {"a": "1", "extra": "x"}, "a=1&extra=x"),  # a partial multi map
        (None, None, ""),
        ({}, {}, ""),
    ],
)
def test_the_query_is_rebuilt_as_a_browser_encodes_it(
    multi: dict[str, Any] | None, single: dict[str, str] | None, query: str
) -> None:
    event = rest_event(multiValueQueryStringParameters=multi, queryStringParameters=single)
    assert parse(event).query_string == query


query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)


@given(st.dictionaries(query_text, st.lists(query_text, min_size=1, max_size=3), max_size=4))
def test_decoding_the_rebuilt_query_gives_what_the_service_decoded(
    multi: dict[str, list[str]],
) -> None:
    event = rest_event(multiValueQueryStringParameters=multi, queryStringParameters=None)
    query = parse(event).query_string
    assert query.isascii()
    expected = [(key, value) for key, values in multi.items() for value in values]
    assert parse_qsl(query, keep_blank_values=True) == expected


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=20))
def test_a_decoded_path_is_never_decoded_twice(text: str) -> None:
    request = parse(http_v1_event("/" + text))
    assert request.path == ("/" + text).encode()
    assert request.raw_path.isascii()
    assert " " not in request.raw_path
    assert unquote(request.raw_path) == "/" + text


# --------------------------------------------------------------------------- fast paths
# Each map reader has a fast path for the maps the services send beside a walk that checks every
# name and value; these prove the two answer alike (the same pairs or query, or the same error).

# Names as a REST API sends them (in the client's spelling), and every kind it does not: empty,
# with a space, a colon, a control character, beyond ASCII (the Kelvin sign lowercases to "k"),
# not a string at all. Each example draws its maps from the clean kinds alone or from all, so both
# paths are taken often.
CLEAN_NAMES = st.sampled_from(["host", "Host", "Accept", "X-Forwarded-For", "cookie", "k", "K"])
HEADER_NAMES = (
    CLEAN_NAMES
    | st.sampled_from(["", "a b", "a:b", "a\tb", "\x7f", "é", "\u212a", " lead", 7, None])
    | st.text(max_size=6)
)
CLEAN_VALUES = st.sampled_from(["", "text/html", "a=1; b=2", "*/*"])
HEADER_VALUES = (
    CLEAN_VALUES
    | st.sampled_from(["é", "\ud800", "\udc80x", 3, None, ("a",)])
    | st.text(max_size=8)
)
# The query's: keys and values the form encoding escapes, text beyond ASCII, lone surrogates,
# what is not a string.
CLEAN_QUERY_TEXT = st.sampled_from(["", "a", "q", "1", "a b+c", "k&=", "100%", "*-._~", "Zürich"])
QUERY_KEYS = CLEAN_QUERY_TEXT | st.sampled_from(["\ud800", 5, None]) | st.text(max_size=4)
QUERY_VALUES = CLEAN_QUERY_TEXT | st.sampled_from(["\udc80", 2, None, ["a"]]) | st.text(max_size=6)


def map_pair(clean_keys: Any, keys: Any, clean_values: Any, values: Any) -> Any:
    """(multi, single) as payload 1.0 sends them, and their misshapen kin: the multi-value map
    (entries mostly lists; a bare string, null or other value now and then), and the single map
    naming its keys, some of them, others too, or missing; either map sometimes not a map."""

    @st.composite
    def pair(draw: Any) -> tuple[object, object]:
        key, value = draw(st.sampled_from([(clean_keys, clean_values), (keys, values)]))
        entry = st.lists(value, max_size=3) | value
        multi = draw(st.dictionaries(key, entry, max_size=5) | st.sampled_from([None, ["a"]]))
        known = list(multi) if isinstance(multi, dict) else []
        named = draw(st.lists(st.sampled_from(known), unique=True) if known else st.just([]))
        single = {name: draw(value) for name in named}
        if draw(st.booleans()):
            single = {**draw(st.dictionaries(key, value, max_size=3)), **single}
        return multi, draw(st.sampled_from([single, single, None, "a"]))

    return pair()


def same_answer(fast: Any, walk: Any, multi: object, single: object) -> None:
    """Both give the same answer, or both refuse with the same field and problem."""
    try:
        expected: object = walk(multi, single)
    except InvalidEvent as exc:
        expected = ("refused", exc.field, exc.problem)
    try:
        got: object = fast(multi, single)
    except InvalidEvent as exc:
        got = ("refused", exc.field, exc.problem)
    assert got == expected


@settings(max_examples=500, deadline=None)
@given(map_pair(CLEAN_NAMES, HEADER_NAMES, CLEAN_VALUES, HEADER_VALUES))
def test_the_header_maps_fast_path_equals_the_walk(maps: tuple[object, object]) -> None:
    same_answer(v1_request._headers, v1_request.walk_headers, *maps)


@settings(max_examples=500, deadline=None)
@given(map_pair(CLEAN_QUERY_TEXT, QUERY_KEYS, CLEAN_QUERY_TEXT, QUERY_VALUES))
def test_the_query_maps_fast_path_equals_the_walk(maps: tuple[object, object]) -> None:
    same_answer(v1_request._query, v1_request.walk_query, *maps)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=12) | st.sampled_from(["~", "\ud800", "a\udc80b", "\U0001f600 x"]))
def test_form_encode_is_urllibs_quote_plus_with_the_tilde_escaped(text: str) -> None:
    try:
        expected = quote_plus(text, safe="*").replace("~", "%7E")
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            v1_request.form_encode(text)
    else:
        assert v1_request.form_encode(text) == expected


@pytest.mark.parametrize("http_api", [False, True])
def test_the_services_own_maps_take_the_fast_paths(
    http_api: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The equalities above would hold with no fast path at all: this pins that what the
    services send takes it (spellings in any case, text beyond ASCII in the query)."""
    event = service.request_event(
        "GET",
        "/items?q=trail+running&q=2&sort=price%3Aasc&ref=caf%C3%A9&empty=",
        [("User-Agent", "curl/8.7.1"), ("Accept", "*/*"), ("cookie", "a=1; b=2")],
        http_api=http_api,
        host="example.com",
    )

    def walked(multi: object, single: object) -> object:
        raise AssertionError("walked")

    expected = parse(event)
    monkeypatch.setattr(v1_request, "walk_headers", walked)
    monkeypatch.setattr(v1_request, "walk_query", walked)
    assert parse(event) == expected
    assert expected.query_string == "q=trail+running&q=2&sort=price%3Aasc&ref=caf%C3%A9&empty="


def test_header_spellings_are_merged_and_the_multi_map_wins() -> None:
    event = rest_event(
        multiValueHeaders={
            "X-Token": ["a"],
            "x-token": ["b"],
            "Cookie": ["a=1"],
            "cookie": ["b=2"],
        },
        headers={"X-Token": "stale", "x-token": "b", "Only-Single": "yes", "cookie": "b=2"},
        body="",
    )
    request = parse(event)
    assert request.headers == (
        ("x-token", "a"),
        ("x-token", "b"),
        ("cookie", "a=1"),
        ("cookie", "b=2"),
        ("only-single", "yes"),
    )
    environ = build_environ(request, CONFIG)
    assert (environ["HTTP_X_TOKEN"], environ["HTTP_COOKIE"]) == ("a, b", "a=1; b=2")


def test_missing_and_null_maps() -> None:
    event = rest_event(
        headers=None,
        multiValueHeaders=None,
        queryStringParameters=None,
        multiValueQueryStringParameters=None,
        requestContext=None,
        body=None,
    )
    del event["isBase64Encoded"]
    assert parse(event) == Request(
        method="POST",
        raw_path="/capture/space%20value",
        path=b"/capture/space value",
        scheme="https",
        server=("localhost", 443),  # no Host and no domainName: the default_host option
        source="apigw-rest",
        event=event,
        context="ctx",
    )


@pytest.mark.parametrize(
    ("source_ip", "client"),
    [
        ("198.51.100.7", ("198.51.100.7", 0)),
        ("2001:db8::1", ("2001:db8::1", 0)),
        ("test-invoke-source-ip", None),  # the console's test button
        ("IP", None),
        ("192.168.0.1/32", None),
        ("", None),
        (None, None),
    ],
)
def test_the_client_is_the_source_ip_never_x_forwarded_for(
    source_ip: str | None, client: tuple[str, int] | None
) -> None:
    event = rest_event()
    event["multiValueHeaders"]["X-Forwarded-For"] = ["6.6.6.6, 203.0.113.9"]
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    assert parse(event).client == client


def test_a_body_that_is_not_base64_is_answered_400_in_this_format() -> None:
    event = rest_event(body="not base64!", isBase64Encoded=True)
    with pytest.raises(InvalidBody) as caught:
        parse_rest_event(event, None, CONFIG)
    assert caught.value.request is not None
    assert caught.value.request.raw_path == "/live/capture/space%20value"
    with WSGIHandler(echo_wsgi) as handler:
        answer = handler(event, None)
    assert answer == {
        "statusCode": 400,
        "multiValueHeaders": {"content-type": ["text/plain; charset=utf-8"]},
        "isBase64Encoded": False,
        "body": "Bad Request: the request body could not be decoded.\n",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"httpMethod": None}, "httpMethod must be a non-empty string (it is missing or null)"),
        ({"httpMethod": "GE T"}, "httpMethod is not an HTTP method: 'GE T'"),
        ({"path": 7}, "path must be a string, got int"),
        ({"requestContext": "x"}, "requestContext must be an object, got str"),
        (
            {"multiValueHeaders": []},
            "multiValueHeaders must be an object of string lists, got list",
        ),
        (
            {"multiValueHeaders": {"Authorization": [{"token": SECRET}]}},
            "multiValueHeaders['Authorization'][0] must be a string, got dict",
        ),
        (
            {"multiValueHeaders": None, "headers": {"Authorization": [SECRET]}},
            "headers['Authorization'] must be a string, got list",
        ),
        (
            {"multiValueQueryStringParameters": {"token": [[SECRET]]}},
            "multiValueQueryStringParameters['token'][0] must be a string, got list",
        ),
        (
            {"multiValueQueryStringParameters": {"token": ["\ud800" + SECRET]}},
            "multiValueQueryStringParameters['token'][0] is not valid Unicode",
        ),
        ({"body": {"a": SECRET}}, "body must be a string, got dict"),
        ({"isBase64Encoded": "yes"}, "isBase64Encoded must be true or false, got str"),
    ],
)
def test_bad_fields_are_named_and_their_values_never_shown(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_rest_event(rest_event(**fields), None, CONFIG)
    assert str(caught.value) == f"invalid event: {message}"
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"stage": "a/b"},
            "requestContext.stage must be a stage name (letters, digits, '-' and '_')",
        ),
        ({"identity": [SECRET]}, "requestContext.identity must be an object, got list"),
        (
            {"identity": {"sourceIp": 7}},
            "requestContext.identity.sourceIp must be a string, got int",
        ),
    ],
)
def test_bad_request_context_fields(context: dict[str, Any], message: str) -> None:
    event = rest_event()
    event["requestContext"].update(context)
    with pytest.raises(InvalidEvent) as caught:
        parse_http_v1_event(event, None, CONFIG)
    assert str(caught.value) == f"invalid event: {message}"


def test_the_handler_names_the_source_of_a_bad_event() -> None:
    with WSGIHandler(echo_wsgi) as handler, pytest.raises(InvalidEvent) as caught:
        handler(rest_event(path=None), None)
    assert str(caught.value) == (
        "invalid API Gateway REST API event: path must be a string (it is missing or null)"
    )


# --------------------------------------------------------------------------- both handlers


def echo_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers what it saw, and sets two cookies."""
    seen = {
        "method": environ["REQUEST_METHOD"],
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace"),
        "query": environ["QUERY_STRING"],
        "cookie": environ.get("HTTP_COOKIE"),
        "content_length": environ["CONTENT_LENGTH"],
        "body": environ["wsgi.input"].read().decode("utf-8", "replace"),
        "client": environ["REMOTE_ADDR"],
        "url_scheme": environ["wsgi.url_scheme"],
        "server": [environ["SERVER_NAME"], environ["SERVER_PORT"]],
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
    """The ASGI twin of echo_wsgi."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(name.decode(), value.decode()) for name, value in scope["headers"]]
    seen = {
        "method": scope["method"],
        "root_path": scope["root_path"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "cookie": next((value for name, value in headers if name == "cookie"), None),
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
        "client": scope["client"],
        "scheme": scope["scheme"],
        "server": scope["server"],
    }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"set-cookie", b"a=1; Path=/"),
                (b"set-cookie", b"b=2; Path=/"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


def parsed(event: dict[str, Any]) -> tuple[Request, int]:
    """The Request and the status the handler answers: 400 when the body cannot be decoded."""
    try:
        return parse(event), 200
    except InvalidBody as exc:  # one sample says base64 of a body that is not
        request = exc.request
    assert request is not None
    return request, 400


@pytest.mark.parametrize("name", corpus_files({"request"}, MY_TYPES))
def test_every_corpus_request_through_both_handlers(name: str) -> None:
    event = load(name)
    http_api = type_of(name) == "apigw-http-v1"
    request, status = parsed(event)
    with WSGIHandler(echo_wsgi) as wsgi, ASGIHandler(echo_asgi, lifespan="off") as asgi:
        answers = [wsgi(event, LambdaContext()), asgi(event, LambdaContext())]
    responses = []
    for answer in answers:
        assert set(answer) <= service.RESPONSE_FIELDS
        responses.append(service.parse_response(answer, http_api=http_api))
    assert [response.status for response in responses] == [status, status]
    if status != 200:
        return
    for response in responses:
        assert response.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    root, path, body = (
        part.decode("utf-8", "replace") for part in (request.root_path, request.path, request.body)
    )
    cookies = [value for name, value in request.headers if name == "cookie"]
    host, port = request.server
    assert json.loads(responses[0].body) == {
        "method": request.method,
        "script_name": root,
        "path_info": path[len(root) :],
        "query": request.query_string,
        "cookie": "; ".join(cookies) if cookies else None,
        "content_length": str(len(request.body)),
        "body": body,
        "client": request.client[0] if request.client else "",
        "url_scheme": request.scheme,
        "server": [host, str(port)],
    }
    assert json.loads(responses[1].body) == {
        "method": request.method,
        "root_path": root,
        "path": path,
        "raw_path": request.raw_path,
        "query": request.query_string,
        "cookie": "; ".join(cookies) if cookies else None,
        "headers": [list(pair) for pair in request.headers],
        "body": body,
        "client": list(request.client) if request.client else None,
        "scheme": request.scheme,
        "server": [host, port],
    }


# --------------------------------------------------------------------------- expected answers


def app_answering(status: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return [body]

    return app


SWSGI_COOKIES = [
    ("Set-Cookie", "CUSTOMER=WILE_E_COYOTE; Path=/"),
    ("Set-Cookie", "PART_NUMBER=ROCKET_LAUNCHER_0002; Path=/"),
    ("Set-Cookie", "LOT_NUMBER=42; Path=/"),
]
SWSGI_APP = ([("Content-Type", "text/plain; charset=utf-8"), *SWSGI_COOKIES], "Hello World ☃!")
MANGUM_APP = (
    [
        ("content-type", "text/plain; charset=utf-8"),
        ("set-cookie", "cookie1=cookie1; Secure"),
        ("set-cookie", "cookie2=cookie2; Secure"),
    ],
    "Hello, world!",
)
JAVA_APP = (
    [
        ("Content-Type", "application/json"),
        ("X-Custom-Header", "custom-value"),
        ("Set-Cookie", "cookie1=value1"),
        ("Set-Cookie", "cookie2=value2"),
    ],
    '{"message":"Hello from Lambda"}',
)


def client_view(response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """What a client receives, header order across names aside; Content-Length is the
    service's own (it frames the body itself)."""
    headers = sorted(pair for pair in response.headers if pair[0] != "content-length")
    return response.status, headers, response.body


@pytest.mark.parametrize(
    ("expected", "request_file", "app"),
    [
        (
            "mangum-tests/expected-response-1.0-set-cookies.json",
            "mangum-tests/rest-get-test-hello-stage-prod.json",
            MANGUM_APP,
        ),
        (
            "mangum-tests/expected-response-1.0-set-cookies.json",
            "mangum-tests/http-v1-hybrid-set-cookies-event.json",
            MANGUM_APP,
        ),
        (
            "serverless-wsgi-tests/expected-response-v1-and-v2.json",
            "serverless-wsgi-tests/event-v1-stage-dev.json",
            SWSGI_APP,
        ),
        (
            "serverless-wsgi-tests/expected-response-v1-multivalue.json",
            "serverless-wsgi-tests/event-v1-multivalue.json",
            SWSGI_APP,
        ),
        (
            "aws-lambda-java-libs/apigw_proxy_response.json",
            "serverless-wsgi-tests/event-v1-stage-dev.json",
            JAVA_APP,
        ),
    ],
)
def test_the_answers_peers_expect_reach_the_client_alike(
    expected: str, request_file: str, app: tuple[list[tuple[str, str]], str]
) -> None:
    headers, body = app
    event = load(request_file)
    http_api = is_http_v1_event(event)
    with WSGIHandler(app_answering("200 OK", headers, body.encode())) as handler:
        ours = handler(event, None)
    assert set(ours) <= service.RESPONSE_FIELDS
    theirs = service.parse_response(load(expected), http_api=http_api)
    assert client_view(service.parse_response(ours, http_api=http_api)) == client_view(theirs)


def test_a_multi_value_header_wins_over_the_same_single_one() -> None:
    payload = load("aws-lambda-go/apigw-response.json")
    payload["headers"]["Via"] = "stale"
    payload["multiValueHeaders"]["via"] = payload["multiValueHeaders"].pop("Via")
    response = service.parse_response(payload)
    assert response.header_values("via") == [
        "1.1 fb7cca60f0ecd82ce07790c9c5eef16c.cloudfront.net (CloudFront)"
    ]
    assert len(response.headers) == len(payload["multiValueHeaders"]) + 1  # + the default type
    assert response.header("content-type") == "application/json"  # REST's own default
    assert (response.status, response.body) == (200, b"Hello World")


# --------------------------------------------------------------------------- rendering


def render(response: Response, method: str = "GET", config: Config = CONFIG) -> dict[str, object]:
    return render_response(response, parse(rest_event(httpMethod=method)), config)


def test_every_set_cookie_is_delivered_and_nothing_else_is_sent() -> None:
    answer = render(
        Response(
            201,
            (
                ("Content-Type", "text/html; charset=utf-8"),
                ("Set-Cookie", "a=1; Path=/"),
                ("X-Multi", "x"),
                ("set-cookie", "b=2; HttpOnly"),
                ("SET-COOKIE", "c=3"),
                ("X-Multi", "y"),
                ("Connection", "close"),  # hop-by-hop: never passed on
                ("Content-Length", "99"),  # the service computes its own
            ),
            b"<p>caf\xc3\xa9</p>",
            reason="Made",  # no field for it
        )
    )
    assert answer == {
        "statusCode": 201,
        "multiValueHeaders": {
            "content-type": ["text/html; charset=utf-8"],
            "set-cookie": ["a=1; Path=/", "b=2; HttpOnly", "c=3"],
            "x-multi": ["x", "y"],
        },
        "isBase64Encoded": False,
        "body": "<p>café</p>",
    }
    assert service.parse_response(answer).header_values("Set-Cookie") == [
        "a=1; Path=/",
        "b=2; HttpOnly",
        "c=3",
    ]


@pytest.mark.parametrize(
    ("headers", "body", "text", "encoded"),
    [
        ((("Content-Type", "image/png"),), b"\x89PNG\r\n", "iVBORw0K", True),
        ((("Content-Type", "application/json"),), b'{"a":1}', '{"a":1}', False),
        ((("Content-Type", "text/plain; charset=latin-1"),), b"caf\xe9", "Y2Fm6Q==", True),
        ((("Content-Type", "text/plain"), ("Content-Encoding", "gzip")), b"x", "eA==", True),
        ((), b"no type", "bm8gdHlwZQ==", True),
        ((("Content-Type", "text/plain"),), b"", "", False),
    ],
)
def test_text_or_base64_as_in_the_alb_codec(
    headers: tuple[tuple[str, str], ...], body: bytes, text: str, encoded: bool
) -> None:
    answer = render(Response(200, headers, body))
    assert (answer["body"], answer["isBase64Encoded"]) == (text, encoded)
    assert service.parse_response(answer).body == body


def test_head_answers_have_no_body() -> None:
    answer = render(Response(200, (("Content-Type", "text/plain"),), b"hello"), method="HEAD")
    assert (answer["body"], answer["isBase64Encoded"]) == ("", False)


def test_the_response_limit_is_lambdas_6_mb() -> None:
    assert APIGW_V1_MAX_JSON_BYTES == 6_291_456
    headers = (("Content-Type", "application/octet-stream"),)
    fits = render(Response(200, headers, bytes(4_718_000)))  # base64: 6,290,668 characters
    assert len(json.dumps(fits)) <= APIGW_V1_MAX_JSON_BYTES
    with pytest.raises(ResponseTooLarge) as caught:
        render(Response(200, headers, bytes(4_719_000)))
    assert str(caught.value) == (
        "response JSON is 6292125 bytes (Lambda's limit on a synchronous response); "
        "the limit is 6291456"
    )


def test_max_response_bytes_and_the_handlers_explained_502() -> None:
    config = Config(max_response_bytes=2048)
    text = (("Content-Type", "text/plain"),)
    exact = render(Response(200, text, b"x" * 1936), config=config)
    assert len(json.dumps(exact)) == 2048
    with pytest.raises(ResponseTooLarge):
        render(Response(200, text, b"x" * 1937), config=config)
    big = app_answering("200 OK", list(text), b"x" * 5000)
    with WSGIHandler(big, max_response_bytes=2048) as handler:
        answer = handler(rest_event(), None)
    assert set(answer) <= service.RESPONSE_FIELDS
    assert answer["statusCode"] == 502
    assert "limit 2048" in service.parse_response(answer).body.decode()


def test_an_unsendable_header_is_the_apps_error() -> None:
    with pytest.raises(AppError, match="header injection"):
        render(Response(200, (("X-Bad", "a\r\nSet-Cookie: x=1"),)))
    with pytest.raises(AppError, match="status must be an int"):
        render(Response(99))


# --------------------------------------------------------------------------- the services' side


def with_random_ids(event: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """``expected`` with the ids the service draws at random taken from ``event``."""
    context = event["requestContext"]
    for key in ("resourceId", "extendedRequestId", "requestId", "deploymentId"):
        if key in context and key in expected["requestContext"]:
            expected["requestContext"][key] = context[key]
    return expected


def test_the_rest_event_for_a_request() -> None:
    event = service.request_event(
        "POST",
        "/live/capture/space%20value"
        "?repeat=one&repeat=two&literalPlus=a+b&encodedPlus=a%2Bb&empty=",
        [
            ("User-Agent", "curl/8.7.1"),
            ("accept", "*/*"),
            ("content-type", "application/json"),
            ("cookie", "session=abc123; theme=dark"),
            ("x-voker-probe", "first"),
            ("x-voker-probe", "second"),
        ],
        b'{"unicode":"lambda-\xce\xbb"}',
        stage="live",
        client_ip="68.8.83.18",
        trace_id="Root=1-6a5145a8-536f3e792f6be9b44c1f46fa",
        now=1783711144.836,
    )
    headers = {
        "accept": "*/*",
        "content-type": "application/json",
        "cookie": "session=abc123; theme=dark",
        "Host": HOST,
        "User-Agent": "curl/8.7.1",
        "x-voker-probe": "second",
        "X-Amzn-Trace-Id": "Root=1-6a5145a8-536f3e792f6be9b44c1f46fa",
        "X-Forwarded-For": "68.8.83.18",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    assert event == with_random_ids(
        event,
        {
            "resource": "/{proxy+}",
            "path": "/capture/space%20value",
            "httpMethod": "POST",
            "headers": headers,
            "multiValueHeaders": {
                name: ["first", "second"] if name == "x-voker-probe" else [value]
                for name, value in headers.items()
            },
            "queryStringParameters": {
                "repeat": "two",
                "literalPlus": "a b",
                "encodedPlus": "a+b",
                "empty": "",
            },
            "multiValueQueryStringParameters": {
                "repeat": ["one", "two"],
                "literalPlus": ["a b"],
                "encodedPlus": ["a+b"],
                "empty": [""],
            },
            "pathParameters": {"proxy": "capture/space%20value"},
            "stageVariables": None,
            "requestContext": {
                "resourceId": "",
                "resourcePath": "/{proxy+}",
                "httpMethod": "POST",
                "extendedRequestId": "",
                "requestTime": "10/Jul/2026:19:19:04 +0000",
                "path": "/live/capture/space%20value",
                "accountId": "123456789012",
                "protocol": "HTTP/1.1",
                "stage": "live",
                "domainPrefix": "a1b2c3d4e5",
                "requestTimeEpoch": 1783711144836,
                "requestId": "",
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "sourceIp": "68.8.83.18",
                    "user": None,
                    "userAgent": "curl/8.7.1",
                    "userArn": None,
                },
                "domainName": HOST,
                "deploymentId": "",
                "apiId": "a1b2c3d4e5",
            },
            "body": '{"unicode":"lambda-λ"}',
            "isBase64Encoded": False,
        },
    )
    request = parse(event)
    assert (request.raw_path, request.root_path, request.query_string) == (
        "/live/capture/space%20value",
        b"/live",
        "repeat=one&repeat=two&literalPlus=a+b&encodedPlus=a%2Bb&empty=",
    )


def test_the_http_api_payload_1_event_for_a_request() -> None:
    event = service.request_event(
        "GET",
        "/dev/a%20b/caf%C3%A9?x=1",
        [("Accept", "*/*")],
        http_api=True,
        stage="dev",
        trace_id="Root=1-00000000-000000000000000000000000",
        now=0,
    )
    assert event == with_random_ids(
        event,
        {
            "version": "1.0",
            "resource": "/dev/a b/café",
            "path": "/dev/a b/café",
            "httpMethod": "GET",
            "headers": {
                "Accept": "*/*",
                "Host": HOST,
                "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
                "X-Forwarded-For": "198.51.100.7",
                "X-Forwarded-Port": "443",
                "X-Forwarded-Proto": "https",
            },
            "multiValueHeaders": {
                "Accept": ["*/*"],
                "Host": [HOST],
                "X-Amzn-Trace-Id": ["Root=1-00000000-000000000000000000000000"],
                "X-Forwarded-For": ["198.51.100.7"],
                "X-Forwarded-Port": ["443"],
                "X-Forwarded-Proto": ["https"],
            },
            "queryStringParameters": {"x": "1"},
            "multiValueQueryStringParameters": {"x": ["1"]},
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "authorizer": {"claims": None, "scopes": None},
                "domainName": HOST,
                "domainPrefix": "a1b2c3d4e5",
                "extendedRequestId": "",
                "httpMethod": "GET",
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "sourceIp": "198.51.100.7",
                    "user": None,
                    "userAgent": None,
                    "userArn": None,
                },
                "path": "/dev/a b/café",
                "protocol": "HTTP/1.1",
                "requestId": "",
                "requestTime": "01/Jan/1970:00:00:00 +0000",
                "requestTimeEpoch": 0,
                "resourceId": None,
                "resourcePath": "/dev/a b/café",
                "stage": "dev",
            },
            "body": None,
            "isBase64Encoded": True,  # as captured: no content type, so the base64 rule
        },
    )
    assert event["requestContext"]["requestId"] == event["requestContext"]["extendedRequestId"]


@pytest.mark.parametrize(
    ("http_api", "binary_types", "content_type", "body", "text", "encoded"),
    [
        (False, (), "application/octet-stream", b"\xff\x00", "\ufffd\x00", False),  # corrupted
        (False, ("image/*",), "image/png", b"\xff\x00", "/wA=", True),
        (False, ("*/*",), "application/json", b"{}", "e30=", True),
        (False, ("application/pdf",), "application/json", b"{}", "{}", False),
        (True, (), "application/json; charset=utf-8", b"{}", "{}", False),
        (True, (), "application/x-www-form-urlencoded", b"a=1", "YT0x", True),
        (True, (), "text/plain", b"\xff", "/w==", True),
    ],
)
def test_request_bodies_as_each_service_sends_them(
    http_api: bool,
    binary_types: tuple[str, ...],
    content_type: str,
    body: bytes,
    text: str,
    encoded: bool,
) -> None:
    event = service.request_event(
        "POST",
        "/prod/x",
        [("Content-Type", content_type)],
        body,
        http_api=http_api,
        stage="prod",
        binary_media_types=binary_types,
    )
    assert (event["body"], event["isBase64Encoded"]) == (text, encoded)
    assert ("Content-Length" in event["headers"]) is http_api  # a REST API drops it


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {},
            "on the execute-api host the client's path starts with the stage '/prod' "
            "(the service answers 403 to '/x')",
        ),
        (
            {"http_api": True, "stage": "dev"},
            "on the execute-api host the client's path starts with the stage '/dev' "
            "(the service answers 404 to '/x')",
        ),
        ({"stage": "$default"}, "a REST API stage has a name; '$default' is an HTTP API's"),
    ],
)
def test_requests_the_service_refuses_itself(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        service.request_event("GET", "/x", **kwargs)


def test_on_a_custom_domain_the_path_is_taken_as_it_is() -> None:
    event = service.request_event("GET", "/v1/items", host="api.example.com")
    assert (event["path"], event["requestContext"]["path"]) == ("/v1/items", "/v1/items")
    assert event["requestContext"]["domainName"] == "api.example.com"
    assert parse(event).root_path == b""


ACCEPTED = "(it accepts only body, headers, isBase64Encoded, multiValueHeaders, statusCode)"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "the response must be a JSON object, got list"),
        (
            {"statusCode": 200, "statusDescription": "200 OK"},
            "the response has keys API Gateway does not accept: statusDescription " + ACCEPTED,
        ),
        (
            {"statusCode": 200, "cookies": ["a=1"]},
            "the response has keys API Gateway does not accept: cookies " + ACCEPTED,
        ),
        ({"body": "x"}, "statusCode must be an integer from 100 to 599, got NoneType"),
        ({"statusCode": "200"}, "statusCode must be an integer from 100 to 599, got str"),
        ({"statusCode": 700}, "statusCode must be an integer from 100 to 599, got 700"),
        ({"statusCode": 200, "body": {"a": 1}}, "body must be a string, got dict"),
        (
            {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": SECRET}},
            "multiValueHeaders['Set-Cookie'] must be a list of strings, got str",
        ),
        (
            {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": [7]}},
            "multiValueHeaders['Set-Cookie'] holds a value of type int; only strings are accepted",
        ),
        (
            {"statusCode": 200, "headers": {"X-Count": 7}},
            "headers['X-Count'] holds a value of type int; only strings are accepted",
        ),
        (
            {"statusCode": 200, "isBase64Encoded": "true"},
            "isBase64Encoded must be true or false, got str",
        ),
        (
            {"statusCode": 200, "isBase64Encoded": True, "body": SECRET + "!"},
            "isBase64Encoded is true but body is not valid base64",
        ),
        ({"statusCode": 200, "body": {1, 2}}, "the response is not JSON-serialisable"),
    ],
)
def test_answers_the_service_turns_into_its_own_error(payload: Any, message: str) -> None:
    with pytest.raises(InvalidResponse) as caught:
        service.parse_response(payload)
    assert str(caught.value) == message
    assert SECRET not in str(caught.value)


def test_nulls_read_as_absent_and_the_base64_body_without_binary_media_types() -> None:
    payload = {"statusCode": 204, "headers": None, "multiValueHeaders": None, "body": None}
    assert service.parse_response(payload) == Response(
        204, (("content-type", "application/json"),), b""
    )
    assert service.parse_response(payload, http_api=True) == Response(204, (), b"")
    binary = {"statusCode": 200, "body": "/wA=", "isBase64Encoded": True}
    assert service.parse_response(binary).body == b"\xff\x00"
    assert service.parse_response(binary, binary=False).body == b"/wA="
    assert service.parse_response(binary, http_api=True, binary=False).body == b"\xff\x00"


def test_the_services_own_errors() -> None:
    assert service.error_response() == Response(
        502, (("content-type", "application/json"),), b'{"message": "Internal server error"}'
    )
    assert service.error_response(http_api=True) == Response(
        500, (("content-type", "application/json"),), b'{"message":"Internal Server Error"}'
    )
    assert (service.REST_INTEGRATION_TIMEOUT_SECONDS, service.REST_TIMEOUT_STATUS) == (29, 504)
    assert (service.HTTP_API_INTEGRATION_TIMEOUT_SECONDS, service.HTTP_API_TIMEOUT_STATUS) == (
        30,
        503,
    )


# --------------------------------------------------------------------------- round trips


def flask_app() -> Any:
    from flask import Flask, jsonify, request, url_for

    app = Flask(__name__)

    @app.route("/items/<name>", methods=["GET", "POST"])
    def item(name: str) -> Any:
        response = jsonify(
            {
                "name": name,
                "url": url_for("item", name=name, _external=True),
                "script_root": request.script_root,
                "path": request.path,
                "args": {key: request.args.getlist(key) for key in request.args},
                "cookies": dict(request.cookies),
                "probe": request.headers.getlist("X-Probe"),
                "remote_addr": request.remote_addr,
                "body": request.get_data(as_text=True),
            }
        )
        response.set_cookie("seen", "1", path=request.script_root or "/")
        response.set_cookie("theme", "dark")
        return response

    return app


CLIENT_HEADERS = [
    ("Cookie", "session=abc123; theme=light"),
    ("Content-Type", "application/json"),
    ("X-Probe", "one"),
    ("X-Probe", "two"),
]
QUERY = "q=a+b&q=c%2Cd&plus=%2B&city=Z%C3%BCrich"


@pytest.mark.parametrize(
    ("target", "kwargs", "script_root"),
    [
        ("/prod/items/caf%C3%A9", {}, "/prod"),
        ("/items/caf%C3%A9", {"host": "api.example.com"}, ""),
        ("/dev/items/caf%C3%A9", {"http_api": True, "stage": "dev"}, "/dev"),
        ("/items/caf%C3%A9", {"http_api": True}, ""),
    ],
)
def test_round_trip_through_flask(target: str, kwargs: dict[str, Any], script_root: str) -> None:
    http_api = kwargs.get("http_api", False)
    event = service.request_event(
        "POST", f"{target}?{QUERY}", CLIENT_HEADERS, b'{"k": 1}', client_ip="203.0.113.5", **kwargs
    )
    with WSGIHandler(flask_app()) as handler:
        answer = handler(event, LambdaContext())
    response = service.parse_response(answer, http_api=http_api)
    host = kwargs.get("host", HOST)
    assert response.status == 200
    assert json.loads(response.body) == {
        "name": "café",
        "url": f"https://{host}{script_root}/items/caf%C3%A9",
        "script_root": script_root,
        "path": "/items/café",
        "args": {"q": ["a b", "c,d"], "plus": ["+"], "city": ["Zürich"]},
        "cookies": {"session": "abc123", "theme": "light"},
        "probe": ["one, two"],  # repeated headers joined, as WSGI servers do
        "remote_addr": "203.0.113.5",
        "body": '{"k": 1}',
    }
    assert response.header_values("set-cookie") == [
        f"seen=1; Path={script_root or '/'}",
        "theme=dark; Path=/",
    ]


@pytest.mark.parametrize("http_api", [False, True])
def test_round_trip_through_a_plain_asgi_app(http_api: bool) -> None:
    stage = "dev" if http_api else "prod"
    event = service.request_event(
        "PUT",
        f"/{stage}/a%20b/100%25?{QUERY}",
        CLIENT_HEADERS,
        b"\x00\x01binary",
        http_api=http_api,
        stage=stage,
        client_ip="2001:db8::5",
        binary_media_types=("*/*",),
    )
    with ASGIHandler(echo_asgi, lifespan="off") as handler:
        answer = handler(event, None)
    response = service.parse_response(answer, http_api=http_api)
    seen = json.loads(response.body)
    headers = seen.pop("headers")
    assert seen == {
        "method": "PUT",
        "root_path": f"/{stage}",
        "path": f"/{stage}/a b/100%",
        "raw_path": f"/{stage}/a%20b/100%25",
        "query": "q=a+b&q=c%2Cd&plus=%2B&city=Z%C3%BCrich",
        "cookie": "session=abc123; theme=light",
        "body": "\x00\x01binary",
        "client": ["2001:db8::5", 0],
        "scheme": "https",
        "server": [HOST, 443],
    }
    assert [value for name, value in headers if name == "x-probe"] == ["one", "two"]
    assert [value for name, value in headers if name == "content-length"] == ["8"]
    assert response.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
