"""The VPC Lattice codec (alb_adapter/sources/lattice/), both event structures: detection, whole
Requests from real and hand-made events, bad input, the answer Lattice reads, the events its own
side builds, and round trips through both handlers (docs/sources/lattice.md)."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pytest
from flask import Flask, jsonify, request, url_for
from hypothesis import given, settings
from hypothesis import strategies as st

from alb_adapter import ASGIHandler, Config, InvalidBody, InvalidEvent, WSGIHandler
from alb_adapter.errors import AppError, InvalidResponse, ResponseTooLarge
from alb_adapter.model import Request, Response
from alb_adapter.sources import all_sources, find_source
from alb_adapter.sources.lattice import VPC_LATTICE_V1, VPC_LATTICE_V2, service
from alb_adapter.sources.lattice.detect import is_lattice_v1_event, is_lattice_v2_event
from alb_adapter.sources.lattice.request import parse_v1_event, parse_v2_event
from alb_adapter.sources.lattice.response import LATTICE_MAX_JSON_BYTES, render_response
from tests.support import ALB_EVENTS, LAMBDA_EVENTS, SECRET, logged_above_debug, simple_app

CORPUS = LAMBDA_EVENTS
ALB_CORPUS = ALB_EVENTS
CONFIG = Config()
HOST = "svc-0123.7d67968.vpc-lattice-svcs.us-east-1.on.aws"
TG_ARN = "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123456789abcdef0"
CONTEXT = {
    "serviceNetworkArn": "arn:aws:vpc-lattice:us-east-1:123456789012:servicenetwork/sn-0123",
    "serviceArn": "arn:aws:vpc-lattice:us-east-1:123456789012:service/svc-0123",
    "targetGroupArn": TG_ARN,
    "region": "us-east-1",
    "timeEpoch": "1696331543569073",
}
VERSIONS = ["V1", "V2"]
PARSERS: dict[str, Callable[[dict[str, Any], object, Config], Request]] = {
    "V1": parse_v1_event,
    "V2": parse_v2_event,
}
SOURCE_NAMES = {"V1": "vpc-lattice-v1", "V2": "vpc-lattice-v2"}
LATTICE_TYPES = {"vpc-lattice-v1", "vpc-lattice-v2"}


def needs_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("the Lambda event corpus is not beside the repository")


def corpus_index() -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    index: list[dict[str, str]] = json.loads((CORPUS / "index.json").read_text())
    return index


def load(name: str) -> dict[str, Any]:
    needs_corpus()
    event: dict[str, Any] = json.loads((CORPUS / name).read_text())
    return event


def corpus_files(
    kinds: set[str], types: set[str] | None = None, *, exclude: bool = False
) -> list[str]:
    """Files of the Lambda corpus by kind, with (or, ``exclude``, without) the given types."""
    return [
        entry["file"]
        for entry in corpus_index()
        if entry["kind"] in kinds and (types is None or (entry["type"] in types) != exclude)
    ]


def alb_corpus_files() -> list[str]:
    if not ALB_CORPUS.is_dir():
        return []
    return sorted(str(path.relative_to(ALB_CORPUS)) for path in ALB_CORPUS.rglob("*.json"))


def v1_event(**fields: Any) -> dict[str, Any]:
    """A V1 event as Lattice sends it; ``fields`` replace or add top-level keys."""
    event: dict[str, Any] = {
        "raw_path": "/",
        "method": "GET",
        "headers": {"host": HOST, "x-forwarded-for": "10.0.1.7"},
        "query_string_parameters": {},
        "body": "",
        "is_base64_encoded": False,
    }
    event.update(fields)
    return event


def v2_event(**fields: Any) -> dict[str, Any]:
    """A V2 event as Lattice sends it; ``fields`` replace or add top-level keys."""
    event: dict[str, Any] = {
        "version": "2.0",
        "path": "/",
        "method": "GET",
        "headers": {"host": [HOST], "x-forwarded-for": ["10.0.1.7"]},
        "queryStringParameters": {},
        "body": "",
        "isBase64Encoded": False,
        "requestContext": dict(CONTEXT),
    }
    event.update(fields)
    return event


def event_for(version: str, **fields: Any) -> dict[str, Any]:
    """A hand-made event of either structure; V1 field names are translated for V2."""
    if version == "V1":
        return v1_event(**fields)
    names = {
        "raw_path": "path",
        "query_string_parameters": "queryStringParameters",
        "is_base64_encoded": "isBase64Encoded",
    }
    return v2_event(**{names.get(key, key): value for key, value in fields.items()})


def parse(version: str, event: dict[str, Any], config: Config = CONFIG) -> Request:
    return PARSERS[version](event, "ctx", config)


def lattice_request(version: str = "V2", method: str = "GET") -> Request:
    return parse(version, event_for(version, method=method))


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", corpus_files({"request", "fragment"}, LATTICE_TYPES))
def test_every_lattice_file_is_recognised_as_its_version(name: str) -> None:
    event = load(name)
    kind = next(entry["type"] for entry in corpus_index() if entry["file"] == name)
    assert (is_lattice_v1_event(event), is_lattice_v2_event(event)) == (
        kind == "vpc-lattice-v1",
        kind == "vpc-lattice-v2",
    )
    assert find_source(event) is (VPC_LATTICE_V1 if kind == "vpc-lattice-v1" else VPC_LATTICE_V2)


@pytest.mark.parametrize(
    "name",
    corpus_files({"request", "non-http", "response", "fragment"}, LATTICE_TYPES, exclude=True),
)
def test_no_other_event_of_the_corpus_is_taken_for_lattice(name: str) -> None:
    event = load(name)
    assert not is_lattice_v1_event(event)
    assert not is_lattice_v2_event(event)


@pytest.mark.parametrize("name", alb_corpus_files())
def test_no_alb_event_is_taken_for_lattice(name: str) -> None:
    event = json.loads((ALB_CORPUS / name).read_text())
    assert not is_lattice_v1_event(event)
    assert not is_lattice_v2_event(event)


def test_the_corpus_has_files_of_both_versions() -> None:
    needs_corpus()
    assert len(corpus_files({"request"}, {"vpc-lattice-v1"})) >= 3
    assert len(corpus_files({"request"}, {"vpc-lattice-v2"})) >= 4


HTTP_API_V2 = {
    "version": "2.0",
    "rawPath": "/",
    "rawQueryString": "",
    "routeKey": "$default",
    "requestContext": {"http": {"method": "GET", "path": "/"}, "domainName": "x.example.com"},
}


@pytest.mark.parametrize(
    ("event", "v1", "v2"),
    [
        (v2_event(), False, True),
        (v1_event(), True, False),
        # Only one of the ARNs is enough; both sit directly in requestContext.
        (v2_event(requestContext={"targetGroupArn": TG_ARN}), False, True),
        (v2_event(requestContext={"serviceNetworkArn": "arn"}), False, True),
        # HTTP API 2.0 and Function URLs: the same version, but requestContext.http.
        (HTTP_API_V2, False, False),
        (v2_event(requestContext={**CONTEXT, "http": {"method": "GET"}}), False, False),
        # ALB nests targetGroupArn under requestContext.elb.
        (v2_event(requestContext={"elb": {"targetGroupArn": TG_ARN}}), False, False),
        (v2_event(requestContext={"elb": {}, "targetGroupArn": TG_ARN}), False, False),
        ({"requestContext": {"targetGroupArn": "arn"}, "method": "GET", "path": "/"}, False, False),
        (v2_event(version="1.0"), False, False),
        (v2_event(version=2), False, False),
        (v2_event(requestContext=None), False, False),
        (v2_event(requestContext={"region": "us-east-1"}), False, False),
        ({**v1_event(), "requestContext": {}}, False, False),
        ({"raw_path": "/"}, False, False),
        ({"raw_path": None, "method": "GET"}, False, False),
        # An ASGI scope given to the handler by mistake: raw_path is bytes there.
        (
            {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "headers": []},
            False,
            False,
        ),
        ({"method": "GET"}, False, False),
        ({}, False, False),
        ([], False, False),
        (None, False, False),
        ("raw_path method", False, False),
    ],
)
def test_detection_is_exact(event: Any, v1: bool, v2: bool) -> None:
    assert (is_lattice_v1_event(event), is_lattice_v2_event(event)) == (v1, v2)


def test_registered_v2_before_v1_and_after_alb() -> None:
    names = [source.name for source in all_sources()]
    assert names.index("alb") < names.index("vpc-lattice-v2") < names.index("vpc-lattice-v1")
    assert VPC_LATTICE_V1.label == "VPC Lattice (V1)"
    assert VPC_LATTICE_V2.label == "VPC Lattice (V2)"


# --- whole requests: the corpus ----------------------------------------------------------------


def test_the_v1_event_with_a_base64_body() -> None:
    event = load("powertools-python/vpcLatticeEvent.json")
    host = "test-lambda-service-3908sdf9u3u.dkfjd93.vpc-lattice-svcs.us-east-2.on.aws"
    assert parse("V1", event) == Request(
        method="GET",
        raw_path="/testpath",
        path=b"/testpath",
        root_path=b"",
        query_string="order-id=1",
        headers=(
            ("user_agent", "curl/7.64.1"),
            ("x-forwarded-for", "10.213.229.10"),
            ("host", host),
            ("accept", "*/*"),
            ("header1", "value1"),
            ("header2", "value1,value2"),  # V1 joined the repeated header: one value
        ),
        body=b'{"test": "event"}',
        scheme="https",
        server=(host, 443),
        client=("10.213.229.10", 0),
        health_check=False,
        source="vpc-lattice-v1",
        event=event,
        context="ctx",
    )


def test_the_v2_event_with_lists() -> None:
    event = load("powertools-python/vpcLatticeV2EventWithHeaders.json")
    host = "lattice-svc-027b423199122da5f.7d67968.vpc-lattice-svcs.us-east-1.on.aws"
    assert parse("V2", event) == Request(
        method="GET",
        raw_path="/newpath",
        path=b"/newpath",
        query_string="parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            ("user-agent", "curl/8.3.0"),
            ("accept", "*/*"),
            ("powertools", "a"),
            ("powertools", "b"),
            ("x-forwarded-for", "172.31.40.143"),
            ("host", host),
            ("header1", "value1"),  # sent as Header1: names are lowercased
            ("header2", "value1"),
            ("header2", "value2"),
        ),
        body=b'{"message": "Hello from Lambda!"}',
        scheme="https",
        server=(host, 443),
        client=("172.31.40.143", 0),
        source="vpc-lattice-v2",
        event=event,
        context="ctx",
    )


def test_a_v2_event_with_plain_strings_and_no_base64_flag() -> None:
    event = load("powertools-python/vpc_lattice_v2_payload.json")
    assert "isBase64Encoded" not in event
    request = parse("V2", event)
    assert (request.raw_path, request.query_string, request.body) == (
        "/todos",
        "order-id=1",
        b'{"message": "Hello from Lambda!"}',
    )
    assert request.header("user_agent") == "curl/7.64.1"


def test_a_v1_query_key_in_a_v2_event_is_not_read() -> None:
    """Lattice never mixes the structures; a V2 reader reads V2 names only (Powertools too)."""
    event = load("powertools-python/vpcLatticeEventV2PathTrailingSlash.json")
    request = parse("V2", event)
    assert (request.raw_path, request.query_string) == ("/newpath/", "")


def test_the_documentation_examples() -> None:
    v1 = parse("V1", load("aws-docs-vpc-lattice/example-event-v1.fixed.json"))
    v2 = parse("V2", load("aws-docs-vpc-lattice/example-event-v2.fixed.json"))
    assert (v1.raw_path, v1.query_string, v1.headers, v1.body) == (
        "/path/to/resource",
        "key=value",
        (("header-key", "header-value"),),
        b"request-body",
    )
    assert (v2.raw_path, v2.query_string, v2.headers, v2.body) == (
        "/",
        "key=value",
        (("header-key", "header-value"),),
        b"request-body",
    )
    # No Host and no X-Forwarded-For: the default host, and no client.
    assert (v2.server, v2.client) == (("localhost", 443), None)


# --- whole requests: hand-made edge cases --------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_whole_post(version: str) -> None:
    event = service.request_event(
        "POST",
        "/orders/7?page=2&sort=new",
        [("Content-Type", "application/json"), ("Cookie", "a=1; b=2")],
        b'{"qty": 3}',
        client_ip="10.0.1.7",
        host=HOST,
        version=version,  # type: ignore[arg-type]
        now=1_700_000_000,
    )
    assert parse(version, event) == Request(
        method="POST",
        raw_path="/orders/7",
        path=b"/orders/7",
        query_string="page=2&sort=new",
        headers=(
            ("host", HOST),
            ("content-type", "application/json"),
            ("cookie", "a=1; b=2"),
            ("content-length", "10"),
            ("x-forwarded-for", "10.0.1.7"),
        ),
        body=b'{"qty": 3}',
        scheme="https",
        server=(HOST, 443),
        client=("10.0.1.7", 0),
        source=SOURCE_NAMES[version],
        event=event,
        context="ctx",
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("sent", "raw_path", "path"),
    [
        ("/a%2Fb", "/a%2Fb", b"/a/b"),  # %2F stays distinguishable in the raw path
        ("/100%25/x", "/100%25/x", b"/100%/x"),
        ("/two%20words", "/two%20words", b"/two words"),
        ("/caf%C3%A9", "/caf%C3%A9", "/café".encode()),
        ("/a//b/../c/", "/a//b/../c/", b"/a//b/../c/"),  # nothing normalised
        ("", "/", b"/"),
        # Should Lattice decode paths (unconfirmed), what cannot stand in a URL is escaped again.
        ("/two words", "/two%20words", b"/two words"),
        ("/café", "/caf%C3%A9", "/café".encode()),
        ("/q?x", "/q%3Fx", b"/q?x"),
    ],
)
def test_paths_are_taken_as_sent(version: str, sent: str, raw_path: str, path: bytes) -> None:
    request = parse(version, event_for(version, raw_path=sent))
    assert (request.raw_path, request.path, request.root_path) == (raw_path, path, b"")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"a": ["1", "2"], "b": ["3"]}, "a=1&a=2&b=3"),  # repeated keys, in event order
        ({"a": "1", "b": ["2"]}, "a=1&b=2"),  # a plain string is one value
        ({"list": ["1,2"]}, "list=1,2"),  # a comma is part of the value
        ({"q": ["a%2Bb", "a+b"], "empty": [""]}, "q=a%2Bb&q=a+b&empty="),  # never decoded
        ({"k": []}, ""),
        ({"q": ["two words"], "é": ["ü"]}, "q=two%20words&%C3%A9=%C3%BC"),
        ({}, ""),
        (None, ""),
    ],
)
def test_v2_query(query: Any, expected: str) -> None:
    assert parse("V2", v2_event(queryStringParameters=query)).query_string == expected


def test_v2_query_may_be_absent() -> None:
    event = v2_event()
    del event["queryStringParameters"]
    assert parse("V2", event).query_string == ""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"a": "2", "list": "1,2", "q": "a%2Bb", "plus": "a+b", "e": ""},
            "a=2&list=1,2&q=a%2Bb&plus=a+b&e=",
        ),
        (None, ""),
        ({}, ""),
    ],
)
def test_v1_query(query: Any, expected: str) -> None:
    assert parse("V1", v1_event(query_string_parameters=query)).query_string == expected


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("headers", [None, {}, "absent"])
def test_no_headers_at_all(version: str, headers: Any) -> None:
    event = event_for(version, headers=headers)
    if headers == "absent":
        del event["headers"]
    request = parse(version, event)
    assert (request.headers, request.server, request.client, request.scheme) == (
        (),
        ("localhost", 443),
        None,
        "https",
    )


def test_no_host_uses_default_host() -> None:
    event = v2_event(headers={"x-forwarded-for": ["10.0.1.7"]})
    request = parse("V2", event, Config(default_host="orders.internal"))
    assert request.server == ("orders.internal", 443)


@pytest.mark.parametrize(
    ("headers", "scheme", "server"),
    [
        ({}, "https", (HOST, 443)),
        ({"x-forwarded-for-proto": "http", "x-forwarded-for-port": "80"}, "http", (HOST, 80)),
        ({"x-forwarded-for-proto": "https", "x-forwarded-for-port": "8443"}, "https", (HOST, 8443)),
        ({"x-forwarded-proto": "http", "x-forwarded-port": "8080"}, "http", (HOST, 8080)),
        # Lattice's own name wins over the usual one, which a client may have sent itself.
        ({"x-forwarded-for-proto": "https", "x-forwarded-proto": "http"}, "https", (HOST, 443)),
        ({"x-forwarded-for-proto": "http"}, "http", (HOST, 80)),
        ({"x-forwarded-for-port": "not-a-port"}, "https", (HOST, 443)),
    ],
)
def test_scheme_and_port(headers: dict[str, str], scheme: str, server: tuple[str, int]) -> None:
    event = v1_event(headers={"host": f"{HOST}:1234", **headers})
    request = parse("V1", event)
    assert (request.scheme, request.server) == (scheme, server)


@pytest.mark.parametrize(
    ("version", "forwarded", "hops", "client"),
    [
        ("V1", "10.0.1.7", 1, ("10.0.1.7", 0)),
        ("V1", "203.0.113.9, 10.0.1.7", 1, ("10.0.1.7", 0)),  # the left entry may be forged
        ("V1", "203.0.113.9, 10.0.1.7", 2, ("203.0.113.9", 0)),
        ("V1", "10.0.1.7", 2, None),  # fewer entries than trusted hops
        ("V1", "10.0.1.7", 0, None),
        ("V2", ["203.0.113.9", "10.0.1.7"], 1, ("10.0.1.7", 0)),  # several lines are one list
        ("V2", ["203.0.113.9, 198.51.100.1", "10.0.1.7"], 3, ("203.0.113.9", 0)),
        ("V2", ["[2001:db8::1]:4711"], 1, ("2001:db8::1", 4711)),
    ],
)
def test_client_from_x_forwarded_for(
    version: str, forwarded: Any, hops: int, client: tuple[str, int] | None
) -> None:
    event = event_for(version, headers={"x-forwarded-for": forwarded})
    assert parse(version, event, Config(trusted_hops=hops)).client == client


def test_v2_headers_keep_every_value_and_spelling_in_order() -> None:
    event = v2_event(
        headers={
            "Host": [HOST],
            "Cookie": ["a=1", "b=2"],
            "accept": "text/html",  # a plain string, as in older fixtures
            "ACCEPT": ["*/*"],
            "x-empty": [],
            "x-utf8": ["ünïcode"],
        }
    )
    assert parse("V2", event).headers == (
        ("host", HOST),
        ("cookie", "a=1"),
        ("cookie", "b=2"),
        ("accept", "text/html"),
        ("accept", "*/*"),
        ("x-utf8", "ünïcode"),
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_binary_body(version: str) -> None:
    data = bytes(range(256))
    event = event_for(version, body=base64.b64encode(data).decode(), is_base64_encoded=True)
    assert parse(version, event).body == data


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("body", [None, "", "absent"])
def test_no_body(version: str, body: Any) -> None:
    event = event_for(version, body=body, is_base64_encoded=None)
    if body == "absent":
        del event["body"]
    assert parse(version, event).body == b""


@pytest.mark.parametrize("version", VERSIONS)
def test_a_text_body_is_its_utf8(version: str) -> None:
    event = event_for(version, body="héllo ✓", is_base64_encoded=False)
    assert parse(version, event).body == "héllo ✓".encode()


def test_a_base_path_applies_and_no_stage_is_ever_added() -> None:
    event = service.request_event("GET", "/shop/cart", version="V2", now=0)
    environ: dict[str, Any] = {}

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        environ.update(env)
        start_response("204 No Content", [])
        return []

    answer = WSGIHandler(app, base_path="/shop")(event, None)
    assert answer["statusCode"] == 204
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/shop", "/cart")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"method": None}, "method", "missing or null"),
        ({"method": 7}, "method", "got int"),
        ({"method": ""}, "method", "non-empty"),
        ({"method": "GET /x"}, "method", "not an HTTP method"),
        ({"raw_path": None}, "PATH", "missing or null"),
        ({"raw_path": ["/"]}, "PATH", "got list"),
        ({"headers": ["host"]}, "headers", "got list"),
        ({"headers": {"bad name": "x"}}, "headers", "not a header name"),
        ({"headers": {"x-n": 5}}, "headers['x-n']", "got int"),
        ({"headers": {"x-n": ["ok", 5]}}, "headers['x-n'][1]", "got int"),
        ({"headers": {"x-n": "\ud800"}}, "headers['x-n']", "not valid Unicode"),
        ({"query_string_parameters": "a=1"}, "QUERY", "got str"),
        ({"query_string_parameters": {"a": 1}}, "QUERY['a']", "got int"),
        ({"query_string_parameters": {"a": [None]}}, "QUERY['a'][0]", "missing or null"),
        ({"body": 42}, "body", "got int"),
        ({"body": "x", "is_base64_encoded": "yes"}, "FLAG", "true or false"),
    ],
)
def test_bad_fields_are_named(
    version: str, change: dict[str, Any], field: str, problem: str
) -> None:
    names = {
        "V1": {"PATH": "raw_path", "QUERY": "query_string_parameters", "FLAG": "is_base64_encoded"},
        "V2": {"PATH": "path", "QUERY": "queryStringParameters", "FLAG": "isBase64Encoded"},
    }[version]
    for placeholder, name in names.items():
        field = field.replace(placeholder, name)
    with pytest.raises(InvalidEvent) as caught:
        parse(version, event_for(version, **change))
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert not isinstance(caught.value, InvalidBody)


@pytest.mark.parametrize("version", VERSIONS)
def test_errors_never_quote_a_value(version: str) -> None:
    headers = {"authorization": [f"Bearer {SECRET}", 7]} if version == "V2" else {"x": 7}
    for change in ({"headers": headers}, {"query_string_parameters": {"token": [SECRET, 7]}}):
        with pytest.raises(InvalidEvent) as caught:
            parse(version, event_for(version, **change))
        assert SECRET not in str(caught.value)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_undecodable_body_carries_the_request(version: str) -> None:
    event = event_for(version, raw_path="/upload", body="not base64!", is_base64_encoded=True)
    with pytest.raises(InvalidBody) as caught:
        parse(version, event)
    assert caught.value.request is not None
    assert caught.value.request.raw_path == "/upload"
    assert caught.value.request.source == SOURCE_NAMES[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_handler_answers_400_in_lattices_format_without_calling_the_app(version: str) -> None:
    app = simple_app()
    event = event_for(version, body="%%%", is_base64_encoded=True)
    answer = WSGIHandler(app)(event, None)
    assert answer == {
        "statusCode": 400,
        "statusDescription": "400 Bad Request",
        "isBase64Encoded": False,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": "Bad Request: the request body could not be decoded.\n",
    }
    assert not hasattr(app, "environ")


@pytest.mark.parametrize("version", VERSIONS)
def test_the_handler_names_the_source_of_a_bad_event(version: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        WSGIHandler(simple_app())(event_for(version, method=None), None)
    assert str(caught.value) == (
        f"invalid VPC Lattice ({version}) event: method must be a non-empty string "
        "(it is missing or null)"
    )


# --- the answer --------------------------------------------------------------------------------


def render(
    response: Response, version: str = "V2", config: Config = CONFIG, **fields: Any
) -> dict[str, Any]:
    rendered = render_response(response, parse(version, event_for(version, **fields)), config)
    json.dumps(rendered)  # always serialisable, as the Lambda runtime needs
    return rendered


@pytest.mark.parametrize("version", VERSIONS)
def test_a_whole_answer(version: str) -> None:
    response = Response(
        200,
        (("Content-Type", "text/html; charset=utf-8"), ("Vary", "Cookie"), ("Vary", "Accept")),
        b"<p>hi</p>",
    )
    assert render(response, version) == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "headers": {"content-type": "text/html; charset=utf-8", "vary": "Cookie, Accept"},
        "body": "<p>hi</p>",
    }


@pytest.mark.parametrize(
    ("status", "reason", "description"),
    [(404, None, "404 Not Found"), (200, "Fine", "200 Fine"), (599, None, "599 Unknown")],
)
def test_status_description(status: int, reason: str | None, description: str) -> None:
    assert render(Response(status, reason=reason))["statusDescription"] == description


@pytest.mark.parametrize("status", [99, 600, "200", True])
def test_an_invalid_status_is_an_app_error(status: Any) -> None:
    with pytest.raises(AppError):
        render(Response(status))


def test_several_cookies_are_all_delivered() -> None:
    cookies = ("a=1; Path=/", "b=2; HttpOnly", "c=3; Secure")
    response = Response(302, tuple(("Set-Cookie", cookie) for cookie in cookies))
    rendered = render(response)
    assert rendered["headers"] == {
        "set-cookie": "a=1; Path=/",
        "Set-cookie": "b=2; HttpOnly",
        "sEt-cookie": "c=3; Secure",
    }
    assert service.parse_response(rendered).header_values("set-cookie") == list(cookies)


def test_multi_cookie_last_keeps_the_last_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    config = Config(multi_cookie="last")
    response = Response(200, (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")))
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        assert render(response, config=config)["headers"] == {"set-cookie": "b=2"}
        assert render(response, config=config)["headers"] == {"set-cookie": "b=2"}
    assert [record.getMessage() for record in caplog.records] == [
        "2 Set-Cookie headers: only the last is sent through VPC Lattice "
        "(multi_cookie='last'); multi_cookie='case-variants' sends them all. Warned once."
    ]


def test_multi_cookie_error_refuses_several_cookies() -> None:
    response = Response(200, (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")))
    with pytest.raises(AppError, match="multi_cookie='error'"):
        render(response, config=Config(multi_cookie="error"))
    one = Response(200, (("Set-Cookie", "a=1"),))
    assert render(one, config=Config(multi_cookie="error"))["headers"] == {"set-cookie": "a=1"}


def test_more_cookies_than_spellings_is_an_app_error() -> None:
    response = Response(200, tuple(("Set-Cookie", f"c{n}=1") for n in range(513)))
    with pytest.raises(AppError, match="at most 512"):
        render(response)


def test_a_binary_body_is_base64() -> None:
    data = bytes(range(256))
    rendered = render(Response(200, (("Content-Type", "image/png"),), data))
    assert rendered["isBase64Encoded"] is True
    assert base64.b64decode(rendered["body"]) == data
    assert service.parse_response(rendered).body == data


@pytest.mark.parametrize(
    ("content_type", "is_base64"),
    [
        ("application/json", False),
        ("text/plain; charset=latin-1", True),
        ("application/octet-stream", True),
        (None, True),
    ],
)
def test_text_or_base64_as_alb_decides(content_type: str | None, is_base64: bool) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    rendered = render(Response(200, headers, b"{}"))
    assert rendered["isBase64Encoded"] is is_base64


@pytest.mark.parametrize("version", VERSIONS)
def test_a_head_answer_has_no_body(version: str) -> None:
    response = Response(200, (("Content-Type", "text/plain"),), b"hello")
    rendered = render(response, version, method="HEAD")
    assert (rendered["body"], rendered["isBase64Encoded"]) == ("", False)


def test_hop_by_hop_headers_and_content_length_are_dropped() -> None:
    response = Response(200, (("Connection", "close"), ("Content-Length", "5"), ("X-A", "1")))
    assert render(response)["headers"] == {"x-a": "1"}


def test_the_limit_is_six_mebibytes_not_albs_megabyte() -> None:
    assert LATTICE_MAX_JSON_BYTES == 6_291_456
    data = os.urandom(3_000_000)  # 4 MB once base64: over ALB's limit, under Lattice's
    rendered = render(Response(200, (("Content-Type", "application/octet-stream"),), data))
    assert service.parse_response(rendered).body == data


def test_over_the_limit_raises() -> None:
    response = Response(200, (("Content-Type", "application/octet-stream"),), os.urandom(4_800_000))
    with pytest.raises(ResponseTooLarge) as caught:
        render(response, headers={"accept-encoding": ["gzip"]})
    assert caught.value.limit == LATTICE_MAX_JSON_BYTES
    assert "after gzip" in caught.value.why


def test_an_oversized_answer_is_gzipped_when_the_client_accepts_it() -> None:
    text = b"<p>lattice</p>" * 500_000  # 7 MB of HTML
    response = Response(200, (("Content-Type", "text/html"), ("ETag", '"v1"')), text)
    rendered = render(response, headers={"accept-encoding": ["br, gzip"]})
    assert rendered["headers"] == {
        "content-type": "text/html",
        "etag": 'W/"v1"',
        "content-encoding": "gzip",
        "vary": "Accept-Encoding",
    }
    import gzip

    assert gzip.decompress(service.parse_response(rendered).body) == text
    with pytest.raises(ResponseTooLarge, match="client does not accept gzip"):
        render(response)


def test_a_lower_limit_is_honoured() -> None:
    response = Response(200, (("Content-Type", "application/octet-stream"),), os.urandom(4096))
    with pytest.raises(ResponseTooLarge) as caught:
        render(response, config=Config(max_response_bytes=2048))
    assert caught.value.limit == 2048


def test_json_escaping_counts_towards_the_limit() -> None:
    """400 bytes of control characters are 2,400 characters of JSON."""
    response = Response(200, (("Content-Type", "text/plain"),), b"\x01" * 400)
    assert render(response)["body"] == "\x01" * 400
    with pytest.raises(ResponseTooLarge, match="client does not accept gzip"):
        render(response, config=Config(max_response_bytes=2048))


def test_the_handler_explains_a_too_large_answer() -> None:
    app_headers = (("Content-Type", "application/octet-stream"),)
    app = simple_app(headers=app_headers, body=b"\0" * 5_000_000)
    event = v2_event()
    with pytest.raises(ResponseTooLarge) as caught:
        render_response(Response(200, app_headers, b"\0" * 5_000_000), parse("V2", event), CONFIG)
    assert WSGIHandler(app)(event, None) == {
        "statusCode": 502,
        "statusDescription": "502 Bad Gateway",
        "isBase64Encoded": False,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": "Bad Gateway: the response is larger than VPC Lattice (V2) accepts "
        f"(response JSON: {caught.value.size} bytes, limit 6291456).\n",
    }


# --- Lattice's side: the events it builds ------------------------------------------------------


def test_the_v2_event_lattice_builds() -> None:
    event = service.request_event(
        "PUT",
        "/a%20b/c?x=1&x=2&flag&e=",
        [("X-Multi", "1"), ("x-multi", "2"), ("X-Forwarded-For", "203.0.113.9")],
        b"\x89PNG",
        client_ip="10.0.1.7",
        scheme="http",
        host="orders.internal",
        port=8080,
        now=1_696_331_543.569073,
    )
    assert event == {
        "version": "2.0",
        "path": "/a%20b/c",
        "method": "PUT",
        "headers": {
            "host": ["orders.internal:8080"],
            "x-multi": ["1", "2"],
            "content-length": ["4"],
            "x-forwarded-for": ["203.0.113.9, 10.0.1.7"],
        },
        "queryStringParameters": {"x": ["1", "2"], "flag": [""], "e": [""]},
        "body": "iVBORw==",
        "isBase64Encoded": True,
        "requestContext": {
            "serviceNetworkArn": service.EXAMPLE_SERVICE_NETWORK_ARN,
            "serviceArn": service.EXAMPLE_SERVICE_ARN,
            "targetGroupArn": service.EXAMPLE_TARGET_GROUP_ARN,
            "identity": {"sourceVpcArn": service.EXAMPLE_VPC_ARN},
            "region": "us-east-1",
            "timeEpoch": "1696331543569073",
        },
    }
    assert is_lattice_v2_event(event)


def test_the_v1_event_lattice_builds() -> None:
    event = service.request_event(
        "POST",
        "/form?x=1&x=2",
        [("Content-Type", "text/plain"), ("X-Multi", "1"), ("X-Multi", "2")],
        "héllo".encode(),
        client_ip="10.0.1.7",
        version="V1",
        proto_headers=True,
        host=None,
    )
    assert event == {
        "raw_path": "/form",
        "method": "POST",
        "headers": {
            "content-type": "text/plain",
            "x-multi": "1, 2",
            "content-length": "6",
            "x-forwarded-for": "10.0.1.7",
            "x-forwarded-for-proto": "https",
            "x-forwarded-for-port": "443",
        },
        "query_string_parameters": {"x": "2"},
        "body": "héllo",
        "is_base64_encoded": False,
    }
    assert is_lattice_v1_event(event)


@pytest.mark.parametrize(
    ("headers", "body", "text", "encoded"),
    [
        ([("content-type", "application/json")], b"{}", "{}", False),
        ([("content-type", "text/csv; charset=utf-8")], b"a,b", "a,b", False),
        ([("content-type", "application/json"), ("content-encoding", "gzip")], b"{}", "e30=", True),
        ([("content-type", "application/x-www-form-urlencoded")], b"a=1", "YT0x", True),
        ([], b"x", "eA==", True),
        ([("content-type", "text/plain")], b"\xff", "/w==", True),  # not UTF-8
        ([("content-type", "text/plain")], b"", "", False),
    ],
)
def test_the_request_body_rule(
    headers: list[tuple[str, str]], body: bytes, text: str, encoded: bool
) -> None:
    event = service.request_event("POST", "/", headers, body, now=0)
    assert (event["body"], event["isBase64Encoded"]) == (text, encoded)
    assert parse("V2", event).body == body


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4),
    pairs=st.lists(
        st.tuples(
            st.text(alphabet="abcXYZ-_.%2B+,", min_size=1, max_size=5),
            st.text(alphabet="abc 123%2F+,=é", max_size=6),
        ),
        max_size=5,
    ),
    version=st.sampled_from(VERSIONS),
)
def test_what_the_client_sent_is_what_the_app_gets(
    segments: list[str], pairs: list[tuple[str, str]], version: str
) -> None:
    """Property: path and query as a client sends them (escaped UTF-8) arrive unchanged in the
    Request, however Lattice carries them; V1 keeps the last value of a repeated key."""
    raw_path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    sent = [(quote(key, safe="%+,"), quote(value, safe="%+,=")) for key, value in pairs]
    query = "&".join(f"{key}={value}" for key, value in sent)
    event = service.request_event("GET", f"{raw_path}?{query}", version=version, now=0)  # type: ignore[arg-type]
    request = parse(version, event)
    assert (request.raw_path, request.path) == (raw_path, unquote_to_bytes(raw_path))
    if version == "V2":
        expected = sent
    else:
        last = dict(sent)
        expected = list(last.items())
    grouped: dict[str, list[str]] = {}
    for key, value in expected:
        grouped.setdefault(key, []).append(value)
    assert request.query_string == "&".join(
        f"{key}={value}" for key, values in grouped.items() for value in values
    )


# --- Lattice's side: reading the answer --------------------------------------------------------


def test_the_documented_answer_is_accepted_and_ours_says_the_same() -> None:
    documented = load("aws-docs-vpc-lattice/example-response.fixed.json")
    theirs = service.parse_response(documented)
    response = Response(
        200,
        (("Set-cookie", "cookies"), ("Content-Type", "application/json")),
        b"Hello from Lambda (optional)",
    )
    ours = service.parse_response(render(response))
    assert (ours.status, ours.headers, ours.body) == (theirs.status, theirs.headers, theirs.body)
    assert theirs == Response(
        200,
        (("set-cookie", "cookies"), ("content-type", "application/json")),
        b"Hello from Lambda (optional)",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"statusCode": None}, "statusCode must be an integer from 100 to 599, got nothing"),
        ({"statusCode": "200"}, "statusCode must be an integer from 100 to 599, got str"),
        ({"statusCode": 600}, "got 600"),
        ({"statusDescription": 200}, "statusDescription must be a string, got int"),
        ({"headers": None}, "headers must be an object, got nothing (missing or null)"),
        (
            {"headers": {"set-cookie": ["a", "b"]}},
            "headers['set-cookie'] must be a string, got list",
        ),
        ({"isBase64Encoded": None}, "isBase64Encoded must be true or false, got nothing"),
        ({"isBase64Encoded": True, "body": "%%"}, "not valid base64"),
        ({"body": None}, "body must be a string, got nothing"),
    ],
)
def test_answers_lattice_refuses(change: dict[str, Any], message: str) -> None:
    payload: dict[str, Any] = {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "headers": {},
        "body": "",
    }
    payload.update(change)
    with pytest.raises(InvalidResponse, match=re.escape(message)):
        service.parse_response(payload)


def test_a_missing_required_field_is_refused_and_an_absent_body_is_empty() -> None:
    with pytest.raises(InvalidResponse, match="headers"):
        service.parse_response({"statusCode": 200, "isBase64Encoded": False})
    answer = service.parse_response({"statusCode": 204, "isBase64Encoded": False, "headers": {}})
    assert answer == Response(204)


def test_an_answer_over_six_mebibytes_is_refused() -> None:
    payload = {"statusCode": 200, "isBase64Encoded": False, "headers": {}, "body": "x" * 6_291_456}
    with pytest.raises(InvalidResponse, match="over VPC Lattice's limit of 6291456"):
        service.parse_response(payload)
    assert service.INVALID_RESPONSE_STATUS == 502


def test_fields_lattice_does_not_read_are_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {
        "statusCode": 200,
        "isBase64Encoded": False,
        "headers": {},
        "cookies": [f"session={SECRET}"],
    }
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        assert service.parse_response(payload) == Response(200)
    assert logged_above_debug(caplog.records) == [
        "the response has cookies, which VPC Lattice does not read: dropped"
    ]


# --- every request of the corpus through both handlers -------------------------------------------


@pytest.fixture
def asgi_handlers() -> Iterator[list[ASGIHandler]]:
    made: list[ASGIHandler] = []
    yield made
    for handler in made:
        handler.close()


async def asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A plain ASGI app answering what it saw, with two cookies."""
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "scheme": scope["scheme"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "root_path": scope["root_path"],
        "query": scope["query_string"].decode(),
        "headers": [[name.decode(), value.decode("utf-8")] for name, value in scope["headers"]],
        "client": list(scope["client"]) if scope["client"] else None,
        "server": list(scope["server"]),
        "body": body.decode("utf-8", "replace"),
    }
    headers = [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1; Path=/"),
        (b"set-cookie", b"b=2; Path=/"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


def cookie_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2; Path=/"),
    ]
    start_response("200 OK", headers)
    return [f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()]


@pytest.mark.parametrize("name", corpus_files({"request", "fragment"}, LATTICE_TYPES))
def test_every_lattice_request_of_the_corpus_through_both_handlers(
    name: str, asgi_handlers: list[ASGIHandler]
) -> None:
    event = load(name)
    source = find_source(event)
    expected = source.parse_event(event, None, CONFIG)

    wsgi = service.parse_response(WSGIHandler(cookie_app)(event, None))
    assert (wsgi.status, wsgi.body) == (200, f"GET {expected.path.decode()}".encode())
    assert wsgi.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]

    handler = ASGIHandler(asgi_echo, lifespan="off")
    asgi_handlers.append(handler)
    answer = service.parse_response(handler(event, None))
    assert answer.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    seen = json.loads(answer.body)
    assert seen == {
        "method": expected.method,
        "scheme": "https",
        "path": expected.path.decode(),
        "raw_path": expected.raw_path,
        "root_path": "",
        "query": expected.query_string,
        "headers": [list(pair) for pair in expected.headers],
        "client": list(expected.client) if expected.client else None,
        "server": list(expected.server),
        "body": expected.body.decode(),
    }


# --- round trips: Lattice's event -> handler -> Lattice's reading --------------------------------


def flask_echo() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=True)

    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT"])
    @app.route("/<path:rest>", methods=["GET", "POST", "PUT"])
    def echo(rest: str) -> Any:
        answer = jsonify(
            method=request.method,
            path=request.path,
            script_root=request.script_root,
            query=request.query_string.decode(),
            args=request.args.to_dict(flat=False),
            token=request.headers.get("X-Token"),
            cookies=request.cookies.to_dict(),
            body=request.get_data(as_text=True),
            remote_addr=request.remote_addr,
            link=url_for("echo", rest=rest, _external=True),
        )
        answer.set_cookie("seen", "1")
        answer.set_cookie("theme", "dark", httponly=True)
        return answer

    return app


ROUND_TRIP_TARGET = "/shop/items/caf%C3%A9%20x?q=a%2Bb&q=2&flag=&c=1,2"
ROUND_TRIP_HEADERS = [
    ("Content-Type", "application/json"),
    ("Cookie", "a=1; b=2"),
    ("X-Token", "t"),
]


def round_trip_event(version: str) -> dict[str, Any]:
    return service.request_event(
        "POST",
        ROUND_TRIP_TARGET,
        ROUND_TRIP_HEADERS,
        b'{"k": "v"}',
        client_ip="10.1.2.3",
        host="orders.internal",
        version=version,  # type: ignore[arg-type]
        now=0,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_through_flask(version: str) -> None:
    handler = WSGIHandler(flask_echo(), base_path="/shop")
    answer = service.parse_response(handler(round_trip_event(version), None))
    assert answer.status == 200
    assert sorted(answer.header_values("set-cookie")) == [
        "seen=1; Path=/",
        "theme=dark; HttpOnly; Path=/",
    ]
    # V1 keeps only the last value of a repeated query key (Lattice's doing, not the adapter's).
    query = "q=a%2Bb&q=2&flag=&c=1,2" if version == "V2" else "q=2&flag=&c=1,2"
    args = (
        {"q": ["a+b", "2"], "flag": [""], "c": ["1,2"]}
        if version == "V2"
        else {
            "q": ["2"],
            "flag": [""],
            "c": ["1,2"],
        }
    )
    assert json.loads(answer.body) == {
        "method": "POST",
        "path": "/items/café x",
        "script_root": "/shop",
        "query": query,
        "args": args,
        "token": "t",
        "cookies": {"a": "1", "b": "2"},
        "body": '{"k": "v"}',
        "remote_addr": "10.1.2.3",
        "link": "https://orders.internal/shop/items/caf%C3%A9%20x",
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_through_a_plain_asgi_app(
    version: str, asgi_handlers: list[ASGIHandler]
) -> None:
    handler = ASGIHandler(asgi_echo, lifespan="off", base_path="/shop", trusted_hops=1)
    asgi_handlers.append(handler)
    answer = service.parse_response(handler(round_trip_event(version), None))
    assert answer.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    query = "q=a%2Bb&q=2&flag=&c=1,2" if version == "V2" else "q=2&flag=&c=1,2"
    assert json.loads(answer.body) == {
        "method": "POST",
        "scheme": "https",
        "path": "/shop/items/café x",
        "raw_path": "/shop/items/caf%C3%A9%20x",
        "root_path": "/shop",
        "query": query,
        "headers": [
            ["host", "orders.internal"],
            ["content-type", "application/json"],
            ["cookie", "a=1; b=2"],
            ["x-token", "t"],
            ["content-length", "10"],
            ["x-forwarded-for", "10.1.2.3"],
        ],
        "client": ["10.1.2.3", 0],
        "server": ["orders.internal", 443],
        "body": '{"k": "v"}',
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_with_the_http_target_headers(
    version: str, asgi_handlers: list[ASGIHandler]
) -> None:
    """Should Lattice send Lambda targets the scheme and port it documents for HTTP targets, the
    app sees them."""
    event = service.request_event(
        "GET",
        "/",
        scheme="http",
        port=8080,
        host="orders.internal",
        proto_headers=True,
        version=version,  # type: ignore[arg-type]
        now=0,
    )
    handler = ASGIHandler(asgi_echo, lifespan="off")
    asgi_handlers.append(handler)
    seen = json.loads(service.parse_response(handler(event, None)).body)
    assert (seen["scheme"], seen["server"]) == ("http", ["orders.internal", 8080])
