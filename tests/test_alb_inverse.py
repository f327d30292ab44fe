"""build_event / forwarded_headers / parse_response: the directions the emulator uses, checked by
round trips through parse_event and render_response and against ALB's documented behaviour."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from alb_adapter import Config, InvalidEvent, InvalidResponse
from alb_adapter.model import Response
from alb_adapter.sources.alb.balancer import build_event, forwarded_headers, parse_response
from alb_adapter.sources.alb.request import parse_event
from alb_adapter.sources.alb.response import render_response

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alb-adapter/0123456789abcdef"


def test_single_value_event_is_what_alb_documents() -> None:
    # The ELB guide's example: ?&myKey=val1&myKey=val2 with two cookie headers.
    event = build_event(
        "GET",
        "/",
        "&myKey=val1&myKey=val2",
        [("Cookie", "name1=value1"), ("Cookie", "name2=value2")],
    )
    assert event == {
        "requestContext": {"elb": {"targetGroupArn": ARN}},
        "httpMethod": "GET",
        "path": "/",
        "queryStringParameters": {"myKey": "val2"},
        "headers": {"cookie": "name2=value2"},
        "body": "",
        "isBase64Encoded": False,
    }


def test_multi_value_event_is_what_alb_documents() -> None:
    event = build_event(
        "GET",
        "/",
        "&myKey=val1&myKey=val2",
        [("Cookie", "name1=value1"), ("Cookie", "name2=value2")],
        multi_value_headers=True,
    )
    assert event["multiValueQueryStringParameters"] == {"myKey": ["val1", "val2"]}
    assert event["multiValueHeaders"] == {"cookie": ["name1=value1", "name2=value2"]}
    assert "headers" not in event
    assert "queryStringParameters" not in event


@pytest.mark.parametrize(
    ("headers", "body", "base64_encoded"),
    [
        ([("content-type", "text/plain")], b"hi", False),
        ([("content-type", "text/html; charset=utf-8")], b"hi", False),
        ([("content-type", "application/json")], b"{}", False),
        ([("content-type", "Application/JSON")], b"{}", False),
        ([("content-type", "application/javascript")], b"x", False),
        ([("content-type", "application/xml")], b"<a/>", False),
        ([("content-type", "application/x-www-form-urlencoded")], b"a=1", True),
        ([("content-type", "multipart/form-data; boundary=x")], b"--x--", True),
        ([("content-type", "application/octet-stream")], b"\x00", True),
        ([("content-type", "application/vnd.api+json")], b"{}", True),
        ([], b"no type", True),
        ([("content-type", "application/json"), ("content-encoding", "gzip")], b"\x1f\x8b", True),
        ([("content-type", "application/octet-stream")], b"", False),
    ],
)
def test_request_body_encoding_follows_albs_rule(
    headers: list[tuple[str, str]], body: bytes, base64_encoded: bool
) -> None:
    event = build_event("POST", "/", "", headers, body)
    assert event["isBase64Encoded"] is base64_encoded
    assert event["body"] == (base64.b64encode(body).decode() if base64_encoded else body.decode())


def test_invalid_utf8_text_body_is_refused_as_alb_does() -> None:
    with pytest.raises(InvalidEvent, match="LambdaBadRequest"):
        build_event("POST", "/", "", [("content-type", "text/plain")], b"\xff")


@pytest.mark.parametrize(
    ("query", "single", "multi"),
    [
        ("a=1&b=2", {"a": "1", "b": "2"}, {"a": ["1"], "b": ["2"]}),
        ("flag", {"flag": ""}, {"flag": [""]}),
        ("x=a%3Db&y=%E9&z=a+b", {"x": "a%3Db", "y": "%E9", "z": "a+b"}, None),
        ("=v", {"": "v"}, {"": ["v"]}),
        ("&&a=1&", {"a": "1"}, {"a": ["1"]}),
        ("", {}, {}),
    ],
)
def test_query_parameters_stay_raw(
    query: str, single: dict[str, str], multi: dict[str, list[str]] | None
) -> None:
    assert build_event("GET", "/", query)["queryStringParameters"] == single
    if multi is not None:
        event = build_event("GET", "/", query, multi_value_headers=True)
        assert event["multiValueQueryStringParameters"] == multi


def test_forwarded_headers_append_to_xff_and_replace_proto_and_port() -> None:
    headers = forwarded_headers(
        [
            ("Host", "Example.COM"),  # ALB lowercases the host name
            ("X-Forwarded-For", "10.0.0.1"),
            ("X-Forwarded-Proto", "gopher"),
            ("X-Forwarded-Port", "1"),
        ],
        client_ip="203.0.113.7",
        scheme="https",
        port=443,
        trace_id="Root=1-5f05949b-77e2b0f9434e2acbf5ad8ce8",
    )
    assert headers == [
        ("host", "example.com"),
        ("x-forwarded-for", "10.0.0.1, 203.0.113.7"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
        ("x-amzn-trace-id", "Root=1-5f05949b-77e2b0f9434e2acbf5ad8ce8"),
    ]


@pytest.mark.parametrize(
    ("client_trace", "expected"),
    [
        (
            "Root=1-00000001-000000000000000000000001",
            "Self=1-5f05949b-77e2b0f9434e2acbf5ad8ce8;Root=1-00000001-000000000000000000000001",
        ),
        ("Custom=1", "Root=1-5f05949b-77e2b0f9434e2acbf5ad8ce8;Custom=1"),
    ],
)
def test_trace_id_when_the_client_sent_one(client_trace: str, expected: str) -> None:
    headers = forwarded_headers(
        [("X-Amzn-Trace-Id", client_trace)],
        client_ip="203.0.113.7",
        scheme="http",
        port=80,
        trace_id="Root=1-5f05949b-77e2b0f9434e2acbf5ad8ce8",
    )
    assert headers[-1] == ("x-amzn-trace-id", expected)


@pytest.mark.parametrize("multi", [False, True])
def test_build_then_parse_recovers_the_request(multi: bool) -> None:
    body = bytes(range(256))
    event = build_event(
        "PATCH",
        "/caf%C3%A9/x%2Fy",
        "a=1&a=2&b=%20&c=+",
        [("Host", "h.example"), ("Content-Type", "application/octet-stream"), ("X-A", "1")],
        body,
        multi_value_headers=multi,
    )
    request = parse_event(event, None, Config())
    assert (request.method, request.raw_path, request.path, request.body) == (
        "PATCH",
        "/caf%C3%A9/x%2Fy",
        "/café/x/y".encode(),
        body,
    )
    assert request.query_string == ("a=1&a=2&b=%20&c=+" if multi else "a=2&b=%20&c=+")
    assert request.headers == (
        ("host", "h.example"),
        ("content-type", "application/octet-stream"),
        ("x-a", "1"),
    )


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize(
    "response",
    [
        Response(
            200,
            (("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")),
            b"<p>",
        ),
        Response(201, (("Content-Type", "image/png"),), bytes(range(256)), reason="Made"),
        Response(204),
        Response(302, (("Location", "/next"), ("Vary", "Cookie"), ("Vary", "Accept"))),
        Response(599, (("Content-Type", "application/json"),), b'{"ok": false}'),
    ],
)
def test_render_then_parse_recovers_the_response(multi: bool, response: Response) -> None:
    request = parse_event(build_event("GET", "/", multi_value_headers=multi), None, Config())
    rendered = render_response(response, request, Config())
    parsed = parse_response(json.loads(json.dumps(rendered)), multi_value_headers=multi)
    assert parsed.status == response.status
    assert parsed.body == response.body
    assert parsed.reason == (response.reason or parsed.reason)
    expected = [(name.lower(), value) for name, value in response.headers]
    if multi or not any(name == "vary" for name, _ in expected):
        assert sorted(parsed.headers) == sorted(expected)
    else:  # single-value mode joined the repeated Vary into one field
        assert ("vary", "Cookie, Accept") in parsed.headers


# --- parse_response: everything ALB answers 502 to ---------------------------------------------


def test_minimal_response_is_valid() -> None:
    assert parse_response({"statusCode": 200}) == Response(200, (), b"", None)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], "must be a JSON object"),
        ({}, "statusCode must be an integer"),
        ({"statusCode": "200"}, "statusCode must be an integer"),
        ({"statusCode": True}, "statusCode must be an integer"),
        ({"statusCode": 700}, "statusCode must be an integer"),
        ({"statusCode": 200, "statusDescription": None}, "response.statusDescription is null"),
        ({"statusCode": 200, "statusDescription": 200}, "statusDescription must be a string"),
        ({"statusCode": 200, "body": None}, "response.body is null"),
        ({"statusCode": 200, "body": 5}, "body must be a string"),
        ({"statusCode": 200, "headers": None}, "response.headers is null"),
        ({"statusCode": 200, "headers": {"x": None}}, "response.headers.x is null"),
        ({"statusCode": 200, "headers": []}, "headers must be an object"),
        ({"statusCode": 200, "headers": {"content-length": 5}}, "ALB accepts only strings"),
        ({"statusCode": 200, "headers": {"x": True}}, "ALB accepts only strings"),
        ({"statusCode": 200, "isBase64Encoded": "yes"}, "isBase64Encoded must be true or false"),
        ({"statusCode": 200, "isBase64Encoded": True, "body": "a\nb"}, "not valid base64"),
        ({"statusCode": 200, "isBase64Encoded": True, "body": "abc"}, "not valid base64"),
        ({"statusCode": 200, "body": "x" * 1_000_001}, "LambdaResponseTooLarge"),
        (
            {"statusCode": 200, "headers": {"x-big": "v" * 33_000}},
            "response headers are 33009 bytes",
        ),
    ],
)
def test_invalid_responses(payload: Any, problem: str) -> None:
    with pytest.raises(InvalidResponse, match=problem):
        parse_response(payload)


def test_multi_value_response_field_shapes() -> None:
    with pytest.raises(InvalidResponse, match="must be a list of strings"):
        parse_response(
            {"statusCode": 200, "multiValueHeaders": {"x": "1"}}, multi_value_headers=True
        )
    with pytest.raises(InvalidResponse, match=r"response\.multiValueHeaders\.x\[1\] is null"):
        parse_response(
            {"statusCode": 200, "multiValueHeaders": {"x": ["1", None]}}, multi_value_headers=True
        )


@pytest.mark.parametrize("multi", [False, True])
def test_headers_in_the_wrong_field_are_dropped_with_a_warning(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    payload = {
        "statusCode": 200,
        "headers": {"x-single": "1"},
        "multiValueHeaders": {"x-multi": ["2"]},
    }
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        response = parse_response(payload, multi_value_headers=multi)
    assert response.headers == ((("x-multi", "2"),) if multi else (("x-single", "1"),))
    ignored = "headers" if multi else "multiValueHeaders"
    assert f"the response has {ignored}, which ALB ignores" in caplog.text


def test_case_variant_cookies_each_become_a_set_cookie() -> None:
    payload = {
        "statusCode": 200,
        "headers": {"set-cookie": "a=1", "Set-cookie": "b=2", "sEt-cookie": "c=3"},
    }
    assert parse_response(payload).headers == (
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("set-cookie", "c=3"),
    )


def test_status_description_gives_the_reason() -> None:
    payload = {"statusCode": 599, "statusDescription": "599 Custom Thing"}
    assert parse_response(payload).reason == "Custom Thing"


SECRET = "s3cr3t-T0KEN"


@pytest.mark.parametrize(
    ("payload", "multi", "message"),
    [
        ({"statusCode": SECRET}, False, "statusCode must be an integer from 100 to 599, got str"),
        (
            {"statusCode": 200, "statusDescription": [SECRET]},
            False,
            "statusDescription must be a string, got list",
        ),
        (
            {"statusCode": 200, "isBase64Encoded": SECRET},
            False,
            "isBase64Encoded must be true or false, got str",
        ),
        (
            {"statusCode": 200, "body": {SECRET: None}},
            False,
            "response.body.<key> is null (ALB answers 502 to a null anywhere)",
        ),
        (
            {"statusCode": 200, "headers": {"authorization": [SECRET]}},
            False,
            "headers['authorization'] holds a value of type list; ALB accepts only strings "
            "(LambdaInvalidResponse)",
        ),
        (
            {"statusCode": 200, "multiValueHeaders": {"set-cookie": f"a={SECRET}"}},
            True,
            "multiValueHeaders['set-cookie'] must be a list of strings, got str",
        ),
        (
            {"statusCode": 200, "multiValueHeaders": {"set-cookie": ["a=1", {"b": SECRET}]}},
            True,
            "multiValueHeaders['set-cookie'] holds a value of type dict; ALB accepts only strings "
            "(LambdaInvalidResponse)",
        ),
    ],
)
def test_invalid_response_messages_never_quote_a_value(
    payload: dict[str, Any], multi: bool, message: str
) -> None:
    # The local ALB logs these at WARNING: a value may be a cookie or a token (rule 15).
    with pytest.raises(InvalidResponse) as raised:
        parse_response(payload, multi_value_headers=multi)
    assert str(raised.value) == message
