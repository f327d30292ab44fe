"""alb_adapter.testing: the helpers must build what ALB builds, and nothing else."""

from __future__ import annotations

import re
import time

import pytest

from alb_adapter.model import Response
from alb_adapter.testing import (
    LambdaContext,
    make_event,
    make_health_check_event,
    new_trace_id,
    read_response,
)


def test_default_event_is_a_browser_get_through_an_https_listener() -> None:
    event = make_event(trace_id="Root=1-65f0a000-0123456789abcdef01234567")
    assert event == {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                "targetgroup/alb-adapter/0123456789abcdef"
            }
        },
        "httpMethod": "GET",
        "path": "/",
        "queryStringParameters": {},
        "headers": {
            "host": "example.com",
            "x-forwarded-for": "198.51.100.7",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-amzn-trace-id": "Root=1-65f0a000-0123456789abcdef01234567",
        },
        "body": "",
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "a b", "tags": ["x", "y&z"]}, {"q": ["a+b"], "tags": ["x", "y%26z"]}),
        ([("k", "1"), ("k", "2")], {"k": ["1", "2"]}),
        ("raw=%20&raw=+", {"raw": ["%20", "+"]}),
    ],
)
def test_query_forms(query: object, expected: dict[str, list[str]]) -> None:
    event = make_event("GET", "/s", query=query, multi_value_headers=True)  # type: ignore[arg-type]
    assert event["multiValueQueryStringParameters"] == expected


def test_query_in_two_places_is_refused() -> None:
    with pytest.raises(ValueError, match="either in path"):
        make_event("GET", "/s?a=1", query={"b": "2"})


def test_json_and_form_bodies() -> None:
    json_event = make_event("POST", "/", json={"a": [1, 2]})
    assert (json_event["body"], json_event["isBase64Encoded"]) == ('{"a": [1, 2]}', False)
    assert json_event["headers"]["content-type"] == "application/json"
    assert json_event["headers"]["content-length"] == "13"
    form_event = make_event("POST", "/", form=[("a", "1 2"), ("b", "é")])
    assert form_event["isBase64Encoded"] is True  # ALB base64-encodes urlencoded forms
    assert form_event["headers"]["content-type"] == "application/x-www-form-urlencoded"
    with pytest.raises(ValueError, match="only one of"):
        make_event("POST", "/", json={}, form={})
    with pytest.raises(ValueError, match="only one of"):
        make_event("POST", "/", body="x", json={})


def test_own_content_type_is_kept() -> None:
    event = make_event("POST", "/", json=[1], headers={"Content-Type": "application/vnd.api+json"})
    assert event["headers"]["content-type"] == "application/vnd.api+json"
    assert event["isBase64Encoded"] is True  # a +json type is not on ALB's text list


def test_http_listener_and_no_host() -> None:
    event = make_event(scheme="http", host=None, client_ip="203.0.113.1")
    assert event["headers"] == {
        "x-forwarded-for": "203.0.113.1",
        "x-forwarded-proto": "http",
        "x-forwarded-port": "80",
        "x-amzn-trace-id": event["headers"]["x-amzn-trace-id"],
    }


def test_health_check_event_matches_the_documented_one() -> None:
    assert make_health_check_event() == {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                "targetgroup/alb-adapter/0123456789abcdef"
            }
        },
        "httpMethod": "GET",
        "path": "/",
        "queryStringParameters": {},
        "headers": {"user-agent": "ELB-HealthChecker/2.0"},
        "body": "",
        "isBase64Encoded": False,
    }


def test_trace_id_format() -> None:
    trace = new_trace_id(now=0x65F0A000)
    assert re.fullmatch(r"Root=1-65f0a000-[0-9a-f]{24}", trace)
    assert new_trace_id() != new_trace_id()


def test_lambda_context_counts_down() -> None:
    context = LambdaContext(timeout=0.2, function_name="shop")
    first = context.get_remaining_time_in_millis()
    assert 100 < first <= 200
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:shop"
    assert context.memory_limit_in_mb == "512"
    assert re.fullmatch(r"[0-9a-f-]{36}", context.aws_request_id)
    assert "shop" in repr(context)
    time.sleep(0.25)
    assert context.get_remaining_time_in_millis() == 0


def test_health_check_path_with_a_query() -> None:
    event = make_health_check_event("/health?deep=1", multi_value_headers=True)
    assert (event["path"], event["multiValueQueryStringParameters"]) == ("/health", {"deep": ["1"]})


def test_read_response_reads_both_modes_and_refuses_the_ignored_field() -> None:
    from alb_adapter import InvalidResponse
    from alb_adapter.model import Response
    from alb_adapter.testing import read_response

    single = {"statusCode": 200, "headers": {"set-cookie": "a=1", "Set-cookie": "b=2"}, "body": ""}
    assert read_response(single) == Response(200, (("set-cookie", "a=1"), ("set-cookie", "b=2")))
    multi = {
        "statusCode": 201,
        "multiValueHeaders": {"X-A": ["1", "2"]},
        "body": "aGk=",
        "isBase64Encoded": True,
    }
    assert read_response(multi, multi_value_headers=True) == Response(
        201, (("x-a", "1"), ("x-a", "2")), b"hi"
    )
    with pytest.raises(InvalidResponse, match="has multiValueHeaders, which ALB ignores"):
        read_response(multi)
    with pytest.raises(InvalidResponse, match="has headers, which ALB ignores"):
        read_response(single, multi_value_headers=True)
    with pytest.raises(InvalidResponse, match="statusCode"):
        read_response({"body": ""})


def test_read_response_gives_what_a_client_would_use() -> None:
    from alb_adapter.testing import ClientResponse

    payload = {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "multiValueHeaders": {
            "Content-Type": ["application/json"],
            "set-cookie": ["a=1", "b=2"],
        },
        "body": '{"user": "Zoë"}',
    }
    answer = read_response(payload, multi_value_headers=True)
    assert isinstance(answer, ClientResponse)
    assert (answer.status, answer.text, answer.json()) == (200, '{"user": "Zoë"}', {"user": "Zoë"})
    assert answer.header("Content-Type") == answer.header("content-type") == "application/json"
    assert answer.header_values("Set-Cookie") == ["a=1", "b=2"]
    assert answer.header("x-missing") is None
    assert answer == Response(200, answer.headers, answer.body, "OK")  # as the plain record


def test_albclient_talks_to_a_reserved_name_by_default() -> None:
    from alb_adapter.testing.client import DEFAULT_BASE_URL

    assert DEFAULT_BASE_URL == "https://alb-adapter.test"
