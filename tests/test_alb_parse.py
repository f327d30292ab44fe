"""The ALB request side (sources/alb/request.py): docs/alb-behaviour.md rules 1-7, in both header modes, and every kind of bad input."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alb_adapter import Config, InvalidBody, InvalidEvent, UnsupportedEvent, WSGIHandler
from alb_adapter.model import Request
from alb_adapter.sources import find_source
from alb_adapter.sources.alb import request as alb_request
from alb_adapter.sources.alb.request import is_multi_value, parse_event
from alb_adapter.sources.fields import clean_headers
from alb_adapter.testing import make_event, make_health_check_event
from tests.support import simple_app

CONFIG = Config()
ARN = {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1"}}


def event(multi: bool, **fields: Any) -> dict[str, Any]:
    """A hand-written ALB event in one header mode; ``headers``/``query`` given as pair lists."""
    headers = fields.pop("headers", [("host", "shop.example.com")])
    query = fields.pop("query", [])
    out: dict[str, Any] = {
        "requestContext": ARN,
        "httpMethod": "GET",
        "path": "/",
        "body": "",
        "isBase64Encoded": False,
    }
    if multi:
        mvh: dict[str, list[str]] = {}
        for name, value in headers:
            mvh.setdefault(name, []).append(value)
        mvq: dict[str, list[str]] = {}
        for key, value in query:
            mvq.setdefault(key, []).append(value)
        out["multiValueHeaders"] = mvh
        out["multiValueQueryStringParameters"] = mvq
    else:
        out["headers"] = dict(headers)
        out["queryStringParameters"] = dict(query)
    out.update(fields)
    return out


def parse(evt: dict[str, Any], config: Config = CONFIG) -> Request:
    return parse_event(evt, "ctx", config)


# --- rule 1: the header mode ---------------------------------------------------------------


def test_a_whole_single_value_request() -> None:
    evt = make_event(
        "POST",
        "/account/notes?page=2",
        headers={"Accept": "application/json", "X-Forwarded-For": "203.0.113.9"},
        json={"text": "hi"},
        trace_id="Root=1-65f0a000-0123456789abcdef01234567",
    )
    request = parse(evt)
    assert request == Request(
        method="POST",
        raw_path="/account/notes",
        path=b"/account/notes",
        query_string="page=2",
        headers=(
            ("host", "example.com"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("content-length", "14"),
            ("x-forwarded-for", "203.0.113.9, 198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("x-amzn-trace-id", "Root=1-65f0a000-0123456789abcdef01234567"),
        ),
        body=b'{"text": "hi"}',
        scheme="https",
        server=("example.com", 443),
        client=("198.51.100.7", 0),
        health_check=False,
        source="alb",
        event=evt,
        context="ctx",
    )


def test_multi_value_mode_keeps_every_value_in_order() -> None:
    evt = event(
        True,
        headers=[("host", "h"), ("accept", "text/html"), ("accept", "*/*")],
        query=[("a", "1"), ("a", "2"), ("b", "3")],
    )
    request = parse(evt)
    assert is_multi_value(request.event) is True
    assert request.headers == (("host", "h"), ("accept", "text/html"), ("accept", "*/*"))
    assert request.query_string == "a=1&a=2&b=3"


@pytest.mark.parametrize("value", [None, "absent"])
def test_null_or_absent_multi_value_headers_mean_single_value_mode(value: object) -> None:
    evt = event(False, headers=[("host", "h")], query=[("q", "1")])
    if value != "absent":
        evt["multiValueHeaders"] = value
        evt["multiValueQueryStringParameters"] = value
    request = parse(evt)
    assert is_multi_value(request.event) is False
    assert request.headers == (("host", "h"),)
    assert request.query_string == "q=1"


def test_mixed_event_prefers_multi_value_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    evt = event(True, headers=[("host", "multi")], query=[("m", "1")])
    evt["headers"] = {"host": "single"}
    evt["queryStringParameters"] = {"s": "1"}
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        request = parse(evt)
    assert (is_multi_value(request.event), request.headers, request.query_string) == (
        True,
        (("host", "multi"),),
        "m=1",
    )
    assert "mixes multi-value and single-value fields" in caplog.text


def test_empty_multi_value_headers_object_is_multi_value_mode() -> None:
    request = parse(event(True, headers=[]))
    assert (is_multi_value(request.event), request.headers, request.server) == (
        True,
        (),
        ("localhost", 80),
    )


def test_bare_string_in_a_multi_value_map_counts_as_one_value() -> None:
    evt = event(True)
    evt["multiValueHeaders"] = {"host": "h", "accept": ["a", "b"], "x-empty": None}
    evt["multiValueQueryStringParameters"] = {"test": "test%20test", "k": ["1"]}
    request = parse(evt)
    assert request.headers == (("host", "h"), ("accept", "a"), ("accept", "b"))
    assert request.query_string == "test=test%20test&k=1"


# --- rule 2: the path ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected_raw", "decoded"),
    [
        ("/plain/path", "/plain/path", b"/plain/path"),
        ("/a%20b", "/a%20b", b"/a b"),
        ("/caf%C3%A9", "/caf%C3%A9", "/café".encode()),
        ("/a%2Fb/c", "/a%2Fb/c", b"/a/b/c"),  # %2F stays visible in raw_path only
        ("/foo%25bar", "/foo%25bar", b"/foo%bar"),
        ("/latin%E9", "/latin%E9", b"/latin\xe9"),  # not UTF-8: bytes kept as they are
        ("", "/", b"/"),
        ("relative", "/relative", b"/relative"),
        ("/A\u00f1o", "/A%C3%B1o", "/Año".encode()),  # raw non-ASCII: escaped as UTF-8
        ("/with space", "/with%20space", b"/with space"),
        ("/q?mark", "/q%3Fmark", b"/q?mark"),
        ("//double//slash/", "//double//slash/", b"//double//slash/"),  # ALB keeps //
        ("/lambda/", "/lambda/", b"/lambda/"),  # trailing slash kept
    ],
)
def test_path_is_kept_raw_and_decoded_to_bytes(raw: str, expected_raw: str, decoded: bytes) -> None:
    request = parse(event(False, path=raw))
    assert (request.raw_path, request.path) == (expected_raw, decoded)


# --- rule 3: the query string ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "query_string"),
    [
        ([("a", "b+c")], "a=b+c"),  # '+' stays '+' (the app decodes it as a space)
        ([("a", "b%20c")], "a=b%20c"),  # never double-encoded
        ([("a", "foo%3Dbar")], "a=foo%3Dbar"),
        ([("a", "%2420")], "a=%2420"),
        ([("a", "100%25")], "a=100%25"),
        ([("a", "a%26b%3Dc")], "a=a%26b%3Dc"),
        ([("k%20k", "v")], "k%20k=v"),
        ([("a+b", "c")], "a+b=c"),
        ([("p", "%2Fsome%2Fpath%2F"), ("r", "/some/path/")], "p=%2Fsome%2Fpath%2F&r=/some/path/"),
        ([("x", "%E9")], "x=%E9"),  # a non-UTF-8 escape survives byte for byte
        ([("%E6%B8%AC", "%E3%83%86")], "%E6%B8%AC=%E3%83%86"),
        ([("flag", ""), ("empty", "")], "flag=&empty="),
        ([("redirect", "https%3A%2F%2Fexample.com%2Fa")], "redirect=https%3A%2F%2Fexample.com%2Fa"),
        ([("raw", "a b")], "raw=a%20b"),  # only what cannot stand in a URL is escaped
        ([("raw", "é€")], "raw=%C3%A9%E2%82%AC"),
        ([("raw", "x#y")], "raw=x%23y"),
        ([("raw", "tab\there")], "raw=tab%09here"),
        ([], ""),
    ],
)
def test_query_is_rebuilt_from_raw_pairs(
    multi: bool, pairs: list[tuple[str, str]], query_string: str
) -> None:
    assert parse(event(multi, query=pairs)).query_string == query_string


def test_repeated_query_keys_single_value_mode_has_only_the_last_from_alb() -> None:
    evt = make_event("GET", "/?name=me&name=you&pet=dog")
    assert evt["queryStringParameters"] == {"name": "you", "pet": "dog"}
    assert parse(evt).query_string == "name=you&pet=dog"


def test_repeated_query_keys_multi_value_mode_keeps_all() -> None:
    evt = make_event("GET", "/?name=me&name=you&pet=dog", multi_value_headers=True)
    assert parse(evt).query_string == "name=me&name=you&pet=dog"


@pytest.mark.parametrize("value", [None, {}])
def test_null_and_empty_query_maps(multi: bool, value: object) -> None:
    evt = event(multi)
    evt["multiValueQueryStringParameters" if multi else "queryStringParameters"] = value
    assert parse(evt).query_string == ""


# --- rule 4: headers -------------------------------------------------------------------------


def test_header_names_are_lowercased(multi: bool) -> None:
    request = parse(event(multi, headers=[("Host", "h"), ("X-Custom-Thing", "V")]))
    assert request.headers == (("host", "h"), ("x-custom-thing", "V"))


def test_single_value_headers_keep_what_alb_kept() -> None:
    evt = make_event("GET", "/", headers=[("cookie", "a=1"), ("cookie", "b=2")])
    assert evt["headers"]["cookie"] == "b=2"  # ALB itself keeps only the last
    assert ("cookie", "b=2") in parse(evt).headers


# --- rule 5: the body ------------------------------------------------------------------------


def test_every_byte_value_survives_base64() -> None:
    payload = bytes(range(256)) * 3
    evt = make_event("PUT", "/blob", body=payload)
    assert evt["isBase64Encoded"] is True
    assert parse(evt).body == payload


def test_text_body_is_utf8() -> None:
    evt = event(False, httpMethod="POST", body='{"name": "Zoë ☃"}')
    assert parse(evt).body == '{"name": "Zoë ☃"}'.encode()


@pytest.mark.parametrize("body", [None, ""])
def test_missing_body(body: object) -> None:
    evt = event(False, body=body, isBase64Encoded=None)
    assert parse(evt).body == b""


def test_a_form_body_sent_as_text_is_taken_as_is() -> None:
    evt = event(False, httpMethod="POST", body="say=Hi&to=Mom")
    assert parse(evt).body == b"say=Hi&to=Mom"


def test_the_content_type_never_decides_the_encoding() -> None:
    # Base64-looking text under an octet-stream type, flagged as text: it stays text.
    evt = event(False, httpMethod="POST", body="aGVsbG8=")
    evt["headers"]["content-type"] = "application/octet-stream"
    assert parse(evt).body == b"aGVsbG8="


@pytest.mark.parametrize(
    "body",
    ["not really base64", "aGVsbG8", "aGVs bG8=", "aGVsbG8=\n", "é", "aGVsbG8=="],
)
def test_invalid_base64_raises_invalid_body_with_the_rest_parsed(multi: bool, body: str) -> None:
    evt = event(multi, httpMethod="POST", body=body, isBase64Encoded=True)
    with pytest.raises(InvalidBody, match="not valid base64") as caught:
        parse(evt)
    assert caught.value.field == "body"
    request = caught.value.request
    assert request is not None
    assert (is_multi_value(request.event), request.body, request.method) == (multi, b"", "POST")


def test_lone_surrogate_in_a_text_body_is_invalid_body() -> None:
    with pytest.raises(InvalidBody, match="not valid Unicode"):
        parse(event(False, body="\ud800"))


# --- rule 6: scheme, server, client ------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "scheme", "server"),
    [
        ([("host", "shop.example.com")], "http", ("shop.example.com", 80)),
        ([("host", "shop.example.com:8443")], "http", ("shop.example.com", 80)),
        ([("host", "h"), ("x-forwarded-proto", "https")], "https", ("h", 443)),
        ([("host", "h"), ("x-forwarded-proto", "HTTPS")], "https", ("h", 443)),
        ([("host", "h"), ("x-forwarded-proto", "gopher")], "http", ("h", 80)),
        (
            [("host", "h"), ("x-forwarded-proto", "https"), ("x-forwarded-port", "8443")],
            "https",
            ("h", 8443),
        ),
        ([("host", "h"), ("x-forwarded-port", "99999")], "http", ("h", 80)),
        ([("host", "h"), ("x-forwarded-port", "eighty")], "http", ("h", 80)),
        ([("host", "[2001:db8::1]:8080")], "http", ("2001:db8::1", 80)),
        ([], "http", ("localhost", 80)),
    ],
)
def test_scheme_and_server(
    multi: bool, headers: list[tuple[str, str]], scheme: str, server: tuple[str, int]
) -> None:
    request = parse(event(multi, headers=headers))
    assert (request.scheme, request.server) == (scheme, server)


def test_default_host_is_configurable(multi: bool) -> None:
    request = parse(event(multi, headers=[]), Config(default_host="internal.example"))
    assert request.server == ("internal.example", 80)


@pytest.mark.parametrize(
    ("xff", "hops", "client"),
    [
        ("203.0.113.9", 1, ("203.0.113.9", 0)),
        ("6.6.6.6, 203.0.113.9", 1, ("203.0.113.9", 0)),  # leftmost is the client's own claim
        ("6.6.6.6,203.0.113.9", 1, ("203.0.113.9", 0)),
        ("198.51.100.1, 203.0.113.9, 10.0.0.2", 2, ("203.0.113.9", 0)),  # a CDN in front
        ("203.0.113.9", 2, None),  # fewer entries than hops: any may be forged, trust none
        ("6.6.6.6, 203.0.113.9", 3, None),
        ("6.6.6.6, 1.2.3.4, 203.0.113.9", 3, ("6.6.6.6", 0)),
        ("203.0.113.9:²", 1, ("203.0.113.9", 0)),  # a port that is not ASCII digits: none
        ("203.0.113.9:١٢", 1, ("203.0.113.9", 0)),
        ("203.0.113.9:5123", 1, ("203.0.113.9", 5123)),
        ("[2001:db8::7]:443", 1, ("2001:db8::7", 443)),
        ("2001:db8::7", 1, ("2001:db8::7", 0)),
        ("203.0.113.9:99999", 1, ("203.0.113.9", 0)),
        ("6.6.6.6, 203.0.113.9", 0, None),  # trust nothing
        (" , ", 1, None),
    ],
)
def test_client_from_x_forwarded_for(
    multi: bool, xff: str, hops: int, client: tuple[str, int] | None
) -> None:
    evt = event(multi, headers=[("host", "h"), ("x-forwarded-for", xff)])
    assert parse(evt, Config(trusted_hops=hops)).client == client


def test_no_x_forwarded_for_means_no_client(multi: bool) -> None:
    assert parse(event(multi)).client is None


def test_x_forwarded_for_split_over_several_header_lines() -> None:
    evt = event(True, headers=[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9")])
    assert parse(evt).client == ("203.0.113.9", 0)


# --- rule 7: health checks -------------------------------------------------------------------


def test_health_check_event_parses_with_defaults(multi: bool) -> None:
    request = parse(make_health_check_event("/health", multi_value_headers=multi))
    assert (
        request.health_check,
        request.raw_path,
        request.scheme,
        request.server,
        request.client,
        request.query_string,
    ) == (True, "/health", "http", ("localhost", 80), None, "")


def test_a_browser_is_not_a_health_check(multi: bool) -> None:
    request = parse(make_event("GET", "/", headers={"user-agent": "Mozilla/5.0"}))
    assert request.health_check is False


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, [], "GET /", 42])
def test_not_an_object_is_unsupported(value: object) -> None:
    with pytest.raises(
        UnsupportedEvent, match=r"expected an event \(a JSON object\) from ALB, API"
    ):
        find_source(value)


def test_an_alb_event_without_its_marker_is_unsupported_and_the_error_says_what_it_lacks() -> None:
    evt = event(False)
    del evt["requestContext"]
    with pytest.raises(UnsupportedEvent) as caught:
        find_source(evt)
    assert str(caught.value) == (
        "not an event from a source alb_adapter serves: it looks most like ALB, but lacks "
        "requestContext.elb (Application Load Balancer (requestContext.elb)); the event has: "
        "body, headers, httpMethod, isBase64Encoded, path, queryStringParameters"
    )


def test_vpc_lattice_style_target_group_arn_is_not_taken_for_alb() -> None:
    lattice = {"requestContext": {"targetGroupArn": "arn"}, "method": "GET", "path": "/"}
    with pytest.raises(UnsupportedEvent):
        find_source(lattice)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"httpMethod": None}, "httpMethod", "missing or null"),
        ({"httpMethod": 7}, "httpMethod", "got int"),
        ({"httpMethod": ""}, "httpMethod", "non-empty"),
        ({"httpMethod": "GET /x"}, "httpMethod", "not an HTTP method"),
        ({"path": None}, "path", "missing or null"),
        ({"path": ["/"]}, "path", "got list"),
        ({"path": "/\ud800"}, "path", "not valid Unicode"),
        ({"isBase64Encoded": "true", "body": "aGk="}, "isBase64Encoded", "true or false"),
        ({"body": {"a": 1}}, "body", "got dict"),
    ],
)
def test_invalid_fields_are_named(
    multi: bool, change: dict[str, Any], field: str, problem: str
) -> None:
    evt = event(multi)
    evt.update(change)
    for key, value in change.items():
        if value is None:
            del evt[key]
    with pytest.raises(InvalidEvent, match=problem) as caught:
        parse(evt)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("headers", ["host"], "headers"),
        ("headers", {"host": 1}, "headers['host']"),
        ("headers", {"bad name": "x"}, "headers"),
        ("headers", {"": "x"}, "headers"),
        ("headers", {"x": "\udc80"}, "headers['x']"),
        ("queryStringParameters", "a=1", "queryStringParameters"),
        ("queryStringParameters", {"a": 1}, "queryStringParameters['a']"),
        ("queryStringParameters", {"a": "\ud800"}, "queryStringParameters['a']"),
    ],
)
def test_single_value_maps_of_the_wrong_shape(field: str, value: object, named: str) -> None:
    evt = event(False)
    evt[field] = value
    with pytest.raises(InvalidEvent) as caught:
        parse(evt)
    assert caught.value.field == named


@pytest.mark.parametrize(
    ("multi", "value", "named"),
    [
        (False, {"host": 1}, "headers['host']"),
        (False, {"host": "h", "x-id": "\udc80"}, "headers['x-id']"),
        (True, {"host": ["h", 5]}, "multiValueHeaders['host'][1]"),
        (True, {"host": ["h"], "x-id": ["\udc80"]}, "multiValueHeaders['x-id'][0]"),
        (True, {"host": [["h"]]}, "multiValueHeaders['host'][0]"),
        (True, {"host": ["h"], "x-id": 7}, "multiValueHeaders['x-id']"),
        (True, {"host": ("h",)}, "multiValueHeaders['host']"),
    ],
)
def test_clean_header_names_do_not_skip_the_value_checks(
    multi: bool, value: object, named: str
) -> None:
    # The names are clean lowercase tokens: the bulk check must still reject the value.
    evt = event(multi)
    evt["multiValueHeaders" if multi else "headers"] = value
    with pytest.raises(InvalidEvent) as caught:
        parse(evt)
    assert caught.value.field == named


def test_clean_multi_value_header_names_in_hand_made_shapes() -> None:
    # A bare string is one value and null none: the bulk check must not read a string as a list
    # of characters.
    evt = event(True)
    evt["multiValueHeaders"] = {"host": "h.example", "accept": ["a", "b"]}
    assert parse(evt).headers == (("host", "h.example"), ("accept", "a"), ("accept", "b"))
    evt["multiValueHeaders"] = {"host": ["h"], "x-empty": None, "accept": []}
    assert parse(evt).headers == (("host", "h"),)


def test_clean_names_with_repeats_in_multi_value_mode() -> None:
    evt = event(
        True,
        headers=[
            ("host", "h"),
            ("accept", "text/html"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "http"),
            ("accept", "*/*"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ],
    )
    request = parse(evt)
    assert request.headers == (
        ("host", "h"),
        ("accept", "text/html"),
        ("accept", "*/*"),
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-proto", "https"),
    )
    # The last X-Forwarded-Proto counts, and the client is the rightmost X-Forwarded-For entry.
    assert (request.scheme, request.server, request.client) == (
        "https",
        ("h", 443),
        ("203.0.113.9", 0),
    )


def test_clean_header_names_with_text_beyond_ascii(multi: bool) -> None:
    request = parse(event(multi, headers=[("host", "h"), ("x-name", "Zoë ☃")]))
    assert request.headers == (("host", "h"), ("x-name", "Zoë ☃"))


def test_a_header_spelled_twice_in_two_cases(multi: bool) -> None:
    evt = event(multi)
    if multi:
        evt["multiValueHeaders"] = {"host": ["a"], "Host": ["b"]}
        assert parse(evt).headers == (("host", "a"), ("host", "b"))
    else:
        evt["headers"] = {"host": "a", "Host": "b"}
        assert parse(evt).headers == (("host", "b"),)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("multiValueHeaders", "host: x", "multiValueHeaders"),
        ("multiValueHeaders", {"host": 5}, "multiValueHeaders['host']"),
        ("multiValueHeaders", {"host": ["h", 5]}, "multiValueHeaders['host'][1]"),
        ("multiValueQueryStringParameters", ["a"], "multiValueQueryStringParameters"),
        (
            "multiValueQueryStringParameters",
            {"a": [None]},
            "multiValueQueryStringParameters['a'][0]",
        ),
        (
            "multiValueQueryStringParameters",
            {"a": {"b": "c"}},
            "multiValueQueryStringParameters['a']",
        ),
    ],
)
def test_multi_value_maps_of_the_wrong_shape(field: str, value: object, named: str) -> None:
    evt = event(True)
    evt[field] = value
    with pytest.raises(InvalidEvent) as caught:
        parse(evt)
    assert caught.value.field == named


def test_invalid_event_message_is_readable() -> None:
    evt = event(False)
    del evt["httpMethod"]
    with pytest.raises(InvalidEvent) as caught:
        parse(evt)
    assert str(caught.value) == (
        "invalid event: httpMethod must be a non-empty string (it is missing or null)"
    )
    # The handler knows which source was reading, and says so.
    with pytest.raises(InvalidEvent) as caught:
        WSGIHandler(simple_app())(evt, None)
    assert str(caught.value) == (
        "invalid ALB event: httpMethod must be a non-empty string (it is missing or null)"
    )


def test_base64_body_from_the_sam_cli_template_shape() -> None:
    body = base64.b64encode(b'{"test":"body"}').decode()
    evt = event(False, httpMethod="POST", body=body, isBase64Encoded=True)
    assert parse(evt).body == b'{"test":"body"}'


# --- the clean-map fast path answers exactly as the walk ------------------------------------

# Names ALB sends, and every kind of name it does not: upper case, empty, with a space, a colon,
# a control character, beyond ASCII, not a string at all.
HEADER_NAMES = st.sampled_from(
    [
        *("host", "accept", "x-forwarded-for", "cookie", "Accept", "X-Y", "", "a b", "a:b"),
        *("a\tb", "\x7f", "é", " lead", "trail ", "a  b", ":", 7, None),
    ]
) | st.text(max_size=6)
HEADER_VALUES = st.sampled_from(["", "text/html", "a=1; b=2", "é", "\ud800", 3, None]) | st.text(
    max_size=8
)


def same_answer(fast: Any, walk: Any, value: dict[Any, Any]) -> None:
    """Both give the same pairs, or both refuse with the same field and problem."""
    try:
        expected: object = walk(value)
    except InvalidEvent as exc:
        expected = ("refused", exc.field, exc.problem)
    try:
        got: object = fast(value)
    except InvalidEvent as exc:
        got = ("refused", exc.field, exc.problem)
    assert got == expected


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5))
def test_single_value_headers_fast_path_equals_the_walk(value: dict[Any, Any]) -> None:
    same_answer(alb_request._single_value_headers, alb_request.walk_single_value_headers, value)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        HEADER_NAMES,
        st.lists(HEADER_VALUES, max_size=3) | HEADER_VALUES,
        max_size=5,
    )
)
def test_multi_value_headers_fast_path_equals_the_walk(value: dict[Any, Any]) -> None:
    same_answer(alb_request._multi_value_headers, alb_request.walk_multi_value_headers, value)


QUERY_KEYS = st.sampled_from(["a", "q", "a b", "é", "\ud800", "", 5, None]) | st.text(max_size=4)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(QUERY_KEYS, st.lists(HEADER_VALUES, max_size=3) | HEADER_VALUES, max_size=4))
def test_multi_value_query_fast_path_equals_the_walk(value: dict[Any, Any]) -> None:
    same_answer(alb_request._multi_value_query, alb_request.walk_multi_value_query, value)


def test_the_fast_path_takes_what_alb_sends() -> None:
    """The equality above would hold with no fast path at all: this pins that ALB's own maps,
    and only clean ones, take it."""
    clean = {"host": "h", "x-forwarded-for": "1.2.3.4", "cookie": "a=1"}
    assert clean_headers(clean, clean.values())
    for unclean in ({"Host": "h"}, {"a b": "1"}, {"a:b": "1"}, {"": "1"}, {"h": "é"}):
        assert not clean_headers(unclean, unclean.values())
    # API Gateway's REST APIs keep the client's spelling: a clean map there may be in any case.
    assert clean_headers({"Host": "h"}, ["h"], lowercase=False)
    for unclean in ({"a b": "1"}, {"a:b": "1"}, {"": "1"}, {"h": "é"}, {"\u212a": "1"}):
        assert not clean_headers(unclean, unclean.values(), lowercase=False)


@pytest.mark.parametrize("port", ["²", "١٢", "99999", "-1", "0", "", "44 3"])
def test_a_forwarded_port_that_is_not_one_to_five_ascii_digits_means_the_default(
    port: str,
) -> None:
    """``str.isdigit`` takes ``²`` (which ``int`` refuses: a ValueError out of the handler) and
    ``١٢`` (which ``int`` reads as 12): only ASCII digits make a port."""
    headers = [("host", "h"), ("x-forwarded-proto", "https"), ("x-forwarded-port", port)]
    assert parse(event(False, headers=headers)).server == ("h", 443)


def test_a_single_value_event_with_a_multi_value_query_warns_that_the_query_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """serverless-wsgi's own test events: single-value headers beside a multi-value query. The
    header mode decides both fields (rule 1), so the query is ignored, and the log says so."""
    evt = make_event("GET", "/cats")
    del evt["queryStringParameters"]
    evt["multiValueQueryStringParameters"] = {"q": ["a+b", "c"], "flag": [""]}
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        request = parse(evt)
        answer = WSGIHandler(simple_app())(evt, None)
    assert (request.query_string, request.headers) == ("", tuple(evt["headers"].items()))
    assert ("headers" in answer, "multiValueHeaders" in answer) == (True, False)
    assert [record.getMessage() for record in caplog.records] == [
        "event mixes multi-value and single-value fields, which ALB never does; the headers are "
        "single-value, so multiValueQueryStringParameters is ignored and the query comes from "
        "queryStringParameters"
    ] * 2
