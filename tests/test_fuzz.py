"""Nothing in an event may crash the handler with anything but the adapter's own errors, and
whatever it answers must be something ALB accepts (checked with parse_response, the emulator's
own judge)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
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


# --- events a real ALB could send, with what clients control at its most hostile --------------

TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&'*+.^`|~", min_size=1, max_size=12
)
# Header text a client can send through ALB: any valid Unicode (ALB decodes UTF-8), tabs included.
CLIENT_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", min_codepoint=0x20, blacklist_characters="\x7f")
    | st.just("\t"),
    max_size=30,
)
FORWARDED_ENTRY = (
    st.sampled_from(
        ["203.0.113.9", "[2001:db8::1]:443", "1.2.3.4:²", "1.2.3.4:١٢", "unknown", "", " ", "::1"]
    )
    | CLIENT_TEXT
)
PORTS = st.sampled_from(["443", "80", "²", "١٢", "99999", "", "0", "8443"]) | CLIENT_TEXT


@st.composite
def possible_events(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    from alb_adapter.testing import make_event

    multi = draw(st.booleans())
    headers = draw(st.lists(st.tuples(TOKEN, CLIENT_TEXT), max_size=6))
    headers.append(("x-forwarded-port", draw(PORTS)))
    headers.append(("x-forwarded-proto", draw(st.sampled_from(["https", "http", "HTTPS", "ftp"]))))
    entries = draw(st.lists(FORWARDED_ENTRY, max_size=4))
    if entries:
        headers.append(("x-forwarded-for", ", ".join(entries)))
    headers.append(("cookie", draw(CLIENT_TEXT)))
    event = make_event(
        draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"])),
        draw(st.sampled_from(["/", "/a%2Fb", "/%E9", "/caf%C3%A9", "/x//y/"])),
        query=draw(st.lists(st.tuples(CLIENT_TEXT, CLIENT_TEXT), max_size=3)),
        headers=headers,
        body=draw(st.binary(max_size=64)),
        host=draw(st.sampled_from(["example.com", "☃.example", "[::1]:8443", None])),
        multi_value_headers=multi,
    )
    return event, multi


def asgi_echo_app() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        text = repr(sorted((k, v) for k, v in scope.items() if k not in ("state", "aws.context")))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")],
            }
        )
        await send({"type": "http.response.body", "body": text.encode()})

    return app


@pytest.fixture(scope="module")
def handlers_by_hops() -> Iterator[dict[int, list[Any]]]:
    from alb_adapter import ASGIHandler

    built = {
        hops: [
            WSGIHandler(echo, trusted_hops=hops),
            ASGIHandler(asgi_echo_app(), trusted_hops=hops, lifespan="off"),
        ]
        for hops in (1, 2, 3)
    }
    yield built
    for pair in built.values():
        pair[1].close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(possible_events(), st.sampled_from([1, 2, 3]))
def test_events_alb_could_send_never_raise_out_of_either_handler(
    handlers_by_hops: dict[int, list[Any]], drawn: tuple[dict[str, Any], bool], hops: int
) -> None:
    event, multi = drawn
    for handler in handlers_by_hops[hops]:
        response = handler(json.loads(json.dumps(event)), None)
        answer = parse_response(json.loads(json.dumps(response)), multi_value_headers=multi)
        assert answer.status == 200
        assert sorted(v for k, v in answer.headers if k == "set-cookie") == ["a=1", "b=2"]
