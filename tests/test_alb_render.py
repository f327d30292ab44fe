"""The ALB response side (sources/alb/response.py): docs/alb-behaviour.md rules 8-13, in both header modes."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alb_adapter import AppError, Config, ResponseTooLarge
from alb_adapter.model import Request, Response
from alb_adapter.sources import rendering
from alb_adapter.sources.alb import response as alb_response
from alb_adapter.sources.alb.request import parse_event
from alb_adapter.sources.alb.response import render_response
from alb_adapter.testing import make_event

HTML = ("Content-Type", "text/html; charset=utf-8")


def request_for(multi: bool, method: str = "GET", **kwargs: Any) -> Request:
    event = make_event(method, multi_value_headers=multi, **kwargs)
    return parse_event(event, None, Config())


def render(
    response: Response, multi: bool, config: Config | None = None, **kwargs: Any
) -> dict[str, Any]:
    rendered = render_response(response, request_for(multi, **kwargs), config or Config())
    json.dumps(rendered)  # always serialisable, as the Lambda runtime needs
    return rendered


def test_whole_single_value_response() -> None:
    response = Response(200, (HTML, ("X-Request-Id", "abc")), b"<p>hi</p>")
    assert render(response, multi=False) == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "body": "<p>hi</p>",
        "headers": {"content-type": "text/html; charset=utf-8", "x-request-id": "abc"},
    }


def test_whole_multi_value_response() -> None:
    response = Response(200, (HTML, ("Vary", "Cookie"), ("Vary", "Accept")), b"<p>hi</p>")
    assert render(response, multi=True) == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "body": "<p>hi</p>",
        "multiValueHeaders": {
            "content-type": ["text/html; charset=utf-8"],
            "vary": ["Cookie", "Accept"],
        },
    }


def test_no_headers_still_gives_the_field_of_the_mode(multi: bool) -> None:
    rendered = render(Response(204), multi)
    assert rendered == {
        "statusCode": 204,
        "statusDescription": "204 No Content",
        "isBase64Encoded": False,
        "body": "",
        "multiValueHeaders" if multi else "headers": {},
    }


# --- rule 8: status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "description"),
    [
        (200, None, "200 OK"),
        (200, "OK", "200 OK"),  # the standard phrase, as WSGI frameworks send it
        (404, None, "404 Not Found"),
        (404, "Not Found", "404 Not Found"),
        (599, None, "599 Unknown"),
        (599, "Network Connect Timeout", "599 Network Connect Timeout"),
        (200, "Okay Then", "200 Okay Then"),
        (418, None, "418 I'm a Teapot"),
    ],
)
def test_status_description(multi: bool, status: int, reason: str | None, description: str) -> None:
    rendered = render(Response(status, reason=reason), multi)
    assert (rendered["statusCode"], rendered["statusDescription"]) == (status, description)


# Errors are found before the header mode is looked at: one mode is enough for them.
@pytest.mark.parametrize(
    "status",
    [99, 600, True, "200", 200.0, None],
    ids=["below-100", "above-599", "bool", "str", "float", "None"],
)
def test_invalid_status_is_an_app_error(status: Any) -> None:
    with pytest.raises(AppError, match="status must be an int from 100 to 599"):
        render(Response(status, reason="OK"), multi=False)


def test_reason_with_a_newline_is_an_app_error() -> None:
    with pytest.raises(AppError, match="reason phrase"):
        render(Response(200, reason="OK\r\nX-Evil: 1"), multi=False)


# --- rule 10: dropped and forbidden headers ----------------------------------------------------


def test_hop_by_hop_and_content_length_are_dropped(multi: bool) -> None:
    headers = (
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "h2c"),
        ("TE", "trailers"),
        ("Trailer", "Expires"),
        ("Proxy-Authenticate", "Basic"),
        ("Proxy-Anything", "x"),
        ("Content-Length", "999"),
        ("X-Kept", "yes"),
    )
    rendered = render(Response(200, headers), multi)
    assert rendered["multiValueHeaders" if multi else "headers"] == (
        {"x-kept": ["yes"]} if multi else {"x-kept": "yes"}
    )


@pytest.mark.parametrize(
    "header",
    [
        ("X-Evil", "a\r\nSet-Cookie: admin=1"),
        ("X-Evil", "a\nb"),
        ("X-Evil", "a\x00b"),
        ("X-Evil\r\nX", "v"),
        ("", "v"),
        ("Bad:Name", "v"),
    ],
)
def test_injection_and_bad_names_are_app_errors(header: tuple[str, str]) -> None:
    with pytest.raises(AppError) as caught:
        render(Response(200, (header,)), multi=False)
    assert "admin=1" not in str(caught.value)  # the value may be a secret: never in the error


@pytest.mark.parametrize("header", [("X-Num", 5), (b"X-Bytes", "v"), ("X-None", None)])
def test_non_string_headers_are_app_errors(header: Any) -> None:
    with pytest.raises(AppError, match="must be str"):
        render(Response(200, (header,)), multi=False)


@pytest.mark.parametrize("value", ["a\x01b", "a\x1bb", "a\x7fb", "a\x0bb"])
def test_other_control_characters_in_a_value_are_app_errors(value: str) -> None:
    with pytest.raises(AppError, match="'X-A' contains control characters") as caught:
        render(Response(200, (("X-A", value),)), multi=False)
    assert value not in str(caught.value)


@pytest.mark.parametrize("reason", ["O\x01K", "OK\x7f", "O\ud800K"])
def test_a_reason_phrase_with_control_characters_or_invalid_text_is_an_app_error(
    reason: str,
) -> None:
    with pytest.raises(AppError, match="reason phrase"):
        render(Response(200, reason=reason), multi=False)


def test_a_tab_and_a_no_break_space_are_fine_in_values_and_reasons() -> None:
    rendered = render(Response(200, (("X-A", "a\tb\xa0c"),), reason="O\tK\xa0!"), multi=False)
    assert (rendered["headers"], rendered["statusDescription"]) == (
        {"x-a": "a\tb\xa0c"},
        "200 O\tK\xa0!",
    )


def test_a_lone_surrogate_in_a_value_is_an_app_error() -> None:
    with pytest.raises(AppError, match="'X-A' is not valid Unicode text"):
        render(Response(200, (("X-A", "\ud800"),)), multi=False)


def test_a_tab_in_a_value_is_allowed(multi: bool) -> None:
    rendered = render(Response(200, (("X-Tab", "a\tb"),)), multi)
    assert rendered["multiValueHeaders" if multi else "headers"]["x-tab"] in (["a\tb"], "a\tb")


# --- rule 11: repeated headers in single-value mode ---------------------------------------------

COOKIES = (("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"), ("set-cookie", "c=3"))


def test_cookies_in_multi_value_mode_are_a_list() -> None:
    rendered = render(Response(200, COOKIES), multi=True)
    assert rendered["multiValueHeaders"] == {"set-cookie": ["a=1; Path=/", "b=2; Path=/", "c=3"]}


def test_cookies_in_single_value_mode_use_case_variants() -> None:
    rendered = render(Response(200, COOKIES), multi=False)
    assert rendered["headers"] == {
        "set-cookie": "a=1; Path=/",
        "Set-cookie": "b=2; Path=/",
        "sEt-cookie": "c=3",
    }


def test_many_cookies_get_distinct_spellings() -> None:
    cookies = tuple(("Set-Cookie", f"c{n}={n}") for n in range(512))
    headers = render(Response(200, cookies), multi=False)["headers"]
    assert len(headers) == 512
    assert {name.lower() for name in headers} == {"set-cookie"}
    assert sorted(headers.values()) == sorted(f"c{n}={n}" for n in range(512))
    with pytest.raises(AppError, match="at most 512"):
        render(Response(200, (*cookies, ("Set-Cookie", "one=more"))), multi=False)


def test_multi_cookie_last_keeps_the_last_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    config = Config(multi_cookie="last")
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        first = render(Response(200, COOKIES), multi=False, config=config)
        second = render(Response(200, COOKIES), multi=False, config=config)
    assert first["headers"] == second["headers"] == {"set-cookie": "c=3"}
    warnings = [r for r in caplog.records if "Set-Cookie" in r.getMessage()]
    assert len(warnings) == 1
    assert "only the last is sent" in warnings[0].getMessage()


def test_multi_cookie_last_is_silent_for_one_cookie_and_in_multi_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = Config(multi_cookie="last")
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        single = render(Response(200, COOKIES[:1]), multi=False, config=config)
        multi = render(Response(200, COOKIES), multi=True, config=config)
    assert single["headers"] == {"set-cookie": "a=1; Path=/"}
    assert multi["multiValueHeaders"]["set-cookie"] == ["a=1; Path=/", "b=2; Path=/", "c=3"]
    assert caplog.records == []


def test_multi_cookie_error_refuses_several_cookies_in_single_value_mode() -> None:
    config = Config(multi_cookie="error")
    with pytest.raises(AppError, match="3 Set-Cookie headers cannot be sent"):
        render(Response(200, COOKIES), multi=False, config=config)
    assert render(Response(200, COOKIES), multi=True, config=config)["multiValueHeaders"] == {
        "set-cookie": ["a=1; Path=/", "b=2; Path=/", "c=3"]
    }


def test_other_repeated_headers_are_joined_in_single_value_mode() -> None:
    headers = (("Vary", "Cookie"), ("Vary", "Accept-Encoding"), ("Link", "</a>; rel=preload"))
    assert render(Response(200, headers), multi=False)["headers"] == {
        "vary": "Cookie, Accept-Encoding",
        "link": "</a>; rel=preload",
    }


# --- rule 12: text or base64 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "as_text"),
    [
        ("text/html; charset=utf-8", True),
        ("text/plain", True),
        ("TEXT/CSV", True),
        ("application/json", True),
        ("application/problem+json", True),
        ("application/vnd.api+json", True),
        ("application/javascript", True),
        ("application/xml", True),
        ("application/xhtml+xml", True),
        ("image/svg+xml", True),
        ("application/x-www-form-urlencoded", True),
        ("text/plain; charset=UTF-8", True),
        ('text/plain; charset="utf-8"', True),
        ("text/plain; charset=us-ascii", True),
        ("text/plain; charset=iso-8859-1", False),  # would be re-encoded as UTF-8: keep bytes
        ("application/yaml", False),
        ("image/png", False),
        ("application/octet-stream", False),
        ("application/pdf", False),
        (None, False),
    ],
)
def test_text_or_base64_by_content_type(
    multi: bool, content_type: str | None, as_text: bool
) -> None:
    body = b"caf\xc3\xa9 <ok>"
    headers = (("Content-Type", content_type),) if content_type else ()
    rendered = render(Response(200, headers, body), multi)
    assert rendered["isBase64Encoded"] is not as_text
    expected = body.decode() if as_text else base64.b64encode(body).decode()
    assert rendered["body"] == expected


def test_content_encoding_forces_base64(multi: bool) -> None:
    packed = gzip.compress(b'{"a": 1}')
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    rendered = render(Response(200, headers, packed), multi)
    assert rendered["isBase64Encoded"] is True
    assert base64.b64decode(rendered["body"]) == packed


def test_identity_encoding_is_still_text(multi: bool) -> None:
    headers = (("Content-Type", "text/plain"), ("Content-Encoding", "identity"))
    assert render(Response(200, headers, b"plain"), multi)["body"] == "plain"


def test_invalid_utf8_under_a_text_type_falls_back_to_base64(multi: bool) -> None:
    body = "café".encode("latin-1")
    rendered = render(Response(200, (("Content-Type", "text/html"),), body), multi)
    assert (rendered["isBase64Encoded"], rendered["body"]) == (
        True,
        base64.b64encode(body).decode(),
    )


def test_custom_text_content_types(multi: bool) -> None:
    config = Config(text_content_types=["application/yaml", "text/*"])
    yaml = render(Response(200, (("Content-Type", "application/yaml"),), b"a: 1"), multi, config)
    json_ = render(Response(200, (("Content-Type", "application/json"),), b"{}"), multi, config)
    assert (yaml["isBase64Encoded"], yaml["body"]) == (False, "a: 1")
    assert (json_["isBase64Encoded"], json_["body"]) == (True, "e30=")


def test_large_binary_base64_has_no_newlines(multi: bool) -> None:
    body = os.urandom(300_000)
    rendered = render(Response(200, (("Content-Type", "image/png"),), body), multi)
    assert "\n" not in rendered["body"]
    assert base64.b64decode(rendered["body"], validate=True) == body


# --- rule 13: the 1 MB limit -----------------------------------------------------------------

BIG_JSON = json.dumps([{"id": n, "name": f"item {n}"} for n in range(60_000)]).encode()


def test_oversized_text_is_gzipped_when_the_client_accepts_it(multi: bool) -> None:
    assert len(BIG_JSON) > 1_000_000
    response = Response(200, (("Content-Type", "application/json"), ("ETag", '"v1"')), BIG_JSON)
    rendered = render(response, multi, headers={"accept-encoding": "gzip, deflate, br"})
    assert len(json.dumps(rendered)) <= 1_000_000
    assert rendered["isBase64Encoded"] is True
    assert gzip.decompress(base64.b64decode(rendered["body"])) == BIG_JSON
    headers = {
        k: v if isinstance(v, str) else ", ".join(v)
        for k, v in rendered["multiValueHeaders" if multi else "headers"].items()
    }
    assert headers == {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "vary": "Accept-Encoding",
        "etag": 'W/"v1"',
    }


def test_vary_is_extended_not_duplicated() -> None:
    response = Response(200, (("Content-Type", "text/plain"), ("Vary", "Cookie")), BIG_JSON)
    rendered = render(response, multi=True, headers={"accept-encoding": "gzip"})
    assert rendered["multiValueHeaders"]["vary"] == ["Cookie", "Accept-Encoding"]
    response = Response(
        200, (("Content-Type", "text/plain"), ("Vary", "accept-encoding")), BIG_JSON
    )
    rendered = render(response, multi=True, headers={"accept-encoding": "gzip"})
    assert rendered["multiValueHeaders"]["vary"] == ["accept-encoding"]


@pytest.mark.parametrize(
    "accept", [None, "identity", "br", "gzip;q=0", "*;q=0", "deflate, gzip;q=0.0"]
)
def test_oversized_without_gzip_raises(multi: bool, accept: str | None) -> None:
    headers = {"accept-encoding": accept} if accept else {}
    response = Response(200, (("Content-Type", "application/json"),), BIG_JSON)
    with pytest.raises(ResponseTooLarge, match="client does not accept gzip") as caught:
        render(response, multi, headers=headers)
    assert caught.value.limit == 1_000_000
    assert caught.value.size > 1_000_000


@pytest.mark.parametrize("accept", ["gzip", "x-gzip", "*", "GZIP;q=0.5"])
def test_accept_encoding_spellings_that_allow_gzip(accept: str) -> None:
    response = Response(200, (("Content-Type", "application/json"),), BIG_JSON)
    rendered = render(response, multi=False, headers={"accept-encoding": accept})
    assert rendered["headers"]["content-encoding"] == "gzip"


def test_oversized_and_already_encoded_raises(multi: bool) -> None:
    headers = (("Content-Type", "application/octet-stream"), ("Content-Encoding", "br"))
    with pytest.raises(ResponseTooLarge, match="already encoded"):
        render(
            Response(200, headers, os.urandom(800_000)), multi, headers={"accept-encoding": "gzip"}
        )


def test_incompressible_and_too_big_raises_after_trying_gzip(multi: bool) -> None:
    response = Response(200, (("Content-Type", "image/png"),), os.urandom(800_000))
    with pytest.raises(ResponseTooLarge, match="after gzip") as caught:
        render(response, multi, headers={"accept-encoding": "gzip"})
    assert caught.value.size > 1_000_000


def test_binary_just_under_the_limit_passes_untouched(multi: bool) -> None:
    body = os.urandom(740_000)  # base64: 986,668 characters
    rendered = render(Response(200, (("Content-Type", "image/png"),), body), multi)
    assert "content-encoding" not in json.dumps(rendered)
    assert base64.b64decode(rendered["body"]) == body


def test_escaping_is_counted_exactly() -> None:
    # 200,000 control characters are 200 KB of body but 1.2 MB of escaped JSON.
    body = b"\x01" * 200_000
    response = Response(200, (("Content-Type", "text/plain"),), body)
    with pytest.raises(ResponseTooLarge):
        render(response, multi=False)
    smaller = Response(200, (("Content-Type", "text/plain"),), b"\x01" * 150_000)
    assert render(smaller, multi=False)["body"] == "\x01" * 150_000


def test_a_lower_limit_is_honoured() -> None:
    config = Config(max_response_bytes=2048)
    response = Response(200, (("Content-Type", "text/plain"),), b"x" * 4000)
    rendered = render(response, multi=False, config=config, headers={"accept-encoding": "gzip"})
    assert gzip.decompress(base64.b64decode(rendered["body"])) == b"x" * 4000


def test_surrounding_whitespace_is_not_part_of_a_value(multi: bool) -> None:
    # Django's WSGI handler writes Set-Cookie values with a leading space.
    headers = (("Set-Cookie", " a=1; Path=/"), ("X-Padded", "\t v \t"), ("X-Empty", ""))
    rendered = render(Response(200, headers), multi)
    assert rendered["multiValueHeaders" if multi else "headers"] == (
        {"set-cookie": ["a=1; Path=/"], "x-padded": ["v"], "x-empty": [""]}
        if multi
        else {"set-cookie": "a=1; Path=/", "x-padded": "v", "x-empty": ""}
    )


def test_a_head_response_has_no_body(multi: bool) -> None:
    response = Response(200, (("Content-Type", "text/plain"), ("ETag", '"x"')), b"hello")
    rendered = render(response, multi, method="HEAD")
    assert (rendered["statusCode"], rendered["body"], rendered["isBase64Encoded"]) == (
        200,
        "",
        False,
    )
    headers = rendered["multiValueHeaders" if multi else "headers"]
    assert headers == (
        {"content-type": ["text/plain"], "etag": ['"x"']}
        if multi
        else {"content-type": "text/plain", "etag": '"x"'}
    )


def test_headers_just_under_32_kb_pass_and_over_it_raise(multi: bool) -> None:
    under = Response(200, (("X-Big", "v" * 32_000),))
    assert render(under, multi)["statusCode"] == 200
    over = Response(200, (("X-Big", "é" * 16_400),))  # 32,800 bytes once UTF-8 encoded
    with pytest.raises(ResponseTooLarge, match="response headers is 32809 bytes") as caught:
        render(over, multi)
    assert caught.value.limit == 32 * 1024


# Text a header may carry: no control characters, no lone surrogates (both are refused).
HEADER_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", min_codepoint=0x20, blacklist_characters="\x7f"),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(
        st.tuples(st.sampled_from(["X-A", "Set-Cookie", "Vary", "ETag"]), HEADER_TEXT), max_size=6
    ),
    body=st.binary(max_size=64) | st.text(max_size=64).map(str.encode),
    content_type=st.sampled_from(["text/plain", "application/octet-stream"]),
    multi=st.booleans(),
)
def test_the_size_bound_is_never_below_the_exact_size(
    headers: list[tuple[str, str]], body: bytes, content_type: str, multi: bool
) -> None:
    """The cheap bound decides whether the exact size (a second serialisation) is needed: it must
    never be smaller than the size, whatever needs escaping."""
    grouped, header_bytes = alb_response.group_headers([("Content-Type", content_type), *headers])
    config = Config()
    text, is_base64 = rendering.encode_body(body, grouped, config)
    result = alb_response._render(200, "200 OK", grouped, text, is_base64, multi, config)
    bound = rendering.json_size_bound(header_bytes, body, text, is_base64)
    assert bound >= alb_response.json_size(result)


CONTENT_TYPES = st.sampled_from(
    [
        *("text/html", "text/html; charset=utf-8", "text/html; charset=latin-1", "image/png"),
        *("application/json", "application/vnd.api+json", 'text/plain; charset="UTF-8"', ""),
    ]
) | st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(CONTENT_TYPES, st.booleans())
def test_text_type_memo_answers_as_the_function_cold_and_warm(
    content_type: str, clear_first: bool
) -> None:
    text_types = Config().text_content_types
    if clear_first:
        rendering.is_text_type.cache_clear()
    reference = rendering.is_text_type.__wrapped__(content_type, text_types)
    assert rendering.is_text_type(content_type, text_types) is reference  # cold or warm
    assert rendering.is_text_type(content_type, text_types) is reference  # warm


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.booleans())
def test_any_header_value_is_sent_as_it_is_or_refused_for_what_it_holds(
    value: str, multi: bool
) -> None:
    """Hostile values from the app: sent exactly (blanks around trimmed) when HTTP can carry them,
    refused as an app error when they hold a control character (tab aside) or a lone surrogate."""
    carriable = all(char == "\t" or (ord(char) >= 0x20 and char != "\x7f") for char in value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        carriable = False
    if carriable:
        rendered = render(Response(200, (("X-A", value),)), multi)
        sent = rendered["multiValueHeaders"]["x-a"] if multi else [rendered["headers"]["x-a"]]
        assert sent == [value.strip(" \t")]
    else:
        with pytest.raises(AppError, match="'X-A'"):
            render(Response(200, (("X-A", value),)), multi)
