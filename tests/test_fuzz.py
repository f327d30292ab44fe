"""Nothing in an event may crash the handler with anything but the adapter's own errors, and
whatever it answers must be something ALB accepts (checked with parse_response, the emulator's
own judge)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alb_adapter import InvalidEvent, UnsupportedEvent, WSGIHandler
from alb_adapter.config import Config
from alb_adapter.model import Request
from alb_adapter.sources import find_source
from alb_adapter.sources.alb.balancer import parse_response

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
HEADER_NAMES = st.sampled_from(
    [
        "host",
        "Host",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-port",
        "cookie",
        "content-type",
        "user-agent",
        "accept-encoding",
        "x_under",
        "",
        "bad name",
    ]
) | st.text(max_size=12)
HEADER_VALUES = st.text(max_size=40) | st.sampled_from(
    ["ELB-HealthChecker/2.0", "https", "443", "99999", "1.2.3.4, [::1]:80", "gzip", "a=1; b=2"]
)
MAYBE_WRONG = JSON_SCALARS | st.lists(JSON_SCALARS, max_size=3)


def alb_shaped() -> st.SearchStrategy[dict[str, Any]]:
    """Events with ALB's keys whose values are sometimes right and sometimes anything at all."""
    single_headers = st.dictionaries(HEADER_NAMES, HEADER_VALUES | MAYBE_WRONG, max_size=6)
    multi_headers = st.dictionaries(
        HEADER_NAMES, st.lists(HEADER_VALUES, max_size=3) | MAYBE_WRONG, max_size=6
    )
    query = st.dictionaries(st.text(max_size=8), st.text(max_size=12) | MAYBE_WRONG, max_size=4)
    multi_query = st.dictionaries(
        st.text(max_size=8), st.lists(st.text(max_size=12), max_size=3) | MAYBE_WRONG, max_size=4
    )
    return st.fixed_dictionaries(
        {"requestContext": st.just({"elb": {"targetGroupArn": "arn"}})},
        optional={
            "httpMethod": st.sampled_from(["GET", "POST", "", "get", "BREW"]) | MAYBE_WRONG,
            "path": st.text(max_size=30)
            | st.sampled_from(["/", "/a%2Fb", "/%E9", "/%zz"])
            | MAYBE_WRONG,
            "headers": single_headers | st.none(),
            "multiValueHeaders": multi_headers | st.none(),
            "queryStringParameters": query | st.none(),
            "multiValueQueryStringParameters": multi_query | st.none(),
            "body": st.text(max_size=40) | st.sampled_from(["", "aGk=", "aGk", "=="]) | MAYBE_WRONG,
            "isBase64Encoded": st.booleans() | MAYBE_WRONG,
        },
    )


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Touch everything the environ offers, as a real framework would."""
    body = environ["wsgi.input"].read()
    text = "|".join(f"{k}={v}" for k, v in sorted(environ.items()) if isinstance(v, str))
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
    )
    return [text.encode("latin-1"), body]


HANDLER = WSGIHandler(echo, raise_app_exceptions=True, base_path="/a")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(JSON)
def test_any_json_is_parsed_or_refused_cleanly(event: Any) -> None:
    with contextlib.suppress(UnsupportedEvent, InvalidEvent):
        assert isinstance(find_source(event).parse_event(event, None, Config()), Request)


@FUZZ
@given(alb_shaped())
def test_alb_shaped_events_give_a_valid_answer_or_a_clear_error(event: dict[str, Any]) -> None:
    try:
        response = HANDLER(event, None)
    except InvalidEvent as exc:
        assert exc.field  # noqa: PT017 (names what was wrong; pytest.raises cannot be optional)
        return
    multi = event.get("multiValueHeaders") is not None
    # What the Lambda runtime would send, read back as ALB would: never a 502.
    answer = parse_response(json.loads(json.dumps(response)), multi_value_headers=multi)
    assert answer.status in (200, 400)
    if answer.status == 200:
        assert sorted(v for k, v in answer.headers if k == "set-cookie") == ["a=1", "b=2"]
