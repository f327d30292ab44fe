"""Config validation (every option, wrong type and wrong value) and the neutral model."""

from __future__ import annotations

import http
from typing import Any

import pytest

from alb_adapter import Config
from alb_adapter.config import DEFAULT_TEXT_CONTENT_TYPES, TextTypes
from alb_adapter.model import (
    REASON_PHRASES,
    Request,
    Response,
    plain_response,
    reason_phrase,
    split_base_path,
)
from alb_adapter.sources.alb.response import is_dropped_response_header


def test_defaults() -> None:
    config = Config()
    assert (
        config.base_path,
        config.text_content_types.patterns,
        config.multi_cookie,
        config.trusted_hops,
        config.default_host,
        config.health_check_path,
        config.max_response_bytes,
        config.raise_app_exceptions,
    ) == ("", DEFAULT_TEXT_CONTENT_TYPES, "case-variants", 1, "localhost", None, None, False)


@pytest.mark.parametrize(
    ("given", "stored"),
    [("", ""), ("/", ""), ("/account", "/account"), ("/account/", "/account"), ("/a/b//", "/a/b")],
)
def test_base_path_is_normalised(given: str, stored: str) -> None:
    assert Config(base_path=given).base_path == stored


BAD_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"base_path": 5}, TypeError, "base_path must be a str"),
    ({"base_path": "account"}, ValueError, "base_path must start with '/'"),
    ({"base_path": "/a?b"}, ValueError, "base_path must be a plain path"),
    ({"base_path": "/a b"}, ValueError, "base_path must be a plain path"),
    ({"text_content_types": "text/*"}, TypeError, "text_content_types must be a list"),
    ({"text_content_types": 5}, TypeError, "text_content_types must be an iterable of str"),
    (
        {"text_content_types": [b"text/*"]},
        TypeError,
        "text_content_types: each entry must be a str",
    ),
    (
        {"text_content_types": ["json"]},
        ValueError,
        "text_content_types: 'json' is not a media type",
    ),
    ({"text_content_types": ["text/html; charset=utf-8"]}, ValueError, "not a media type pattern"),
    ({"text_content_types": ["*/*"]}, ValueError, "would send binary bodies as text"),
    ({"text_content_types": ["*/html"]}, ValueError, "'*' may stand only"),
    ({"text_content_types": ["text/h*ml"]}, ValueError, "'*' may stand only"),
    ({"multi_cookie": "all"}, ValueError, "multi_cookie must be one of"),
    ({"multi_cookie": None}, ValueError, "multi_cookie must be one of"),
    ({"trusted_hops": -1}, ValueError, "trusted_hops must be at least 0"),
    ({"trusted_hops": 1.0}, TypeError, "trusted_hops must be an int"),
    ({"trusted_hops": True}, TypeError, "trusted_hops must be an int"),
    ({"default_host": ""}, ValueError, "default_host must be a host name"),
    ({"default_host": "a b"}, ValueError, "default_host must be a host name"),
    ({"default_host": "http://x"}, ValueError, "default_host must be a host name"),
    ({"default_host": None}, TypeError, "default_host must be a str"),
    ({"health_check_path": "health"}, ValueError, "health_check_path must start with '/'"),
    ({"health_check_path": 1}, TypeError, "health_check_path must be a str"),
    ({"max_response_bytes": "1MB"}, TypeError, "max_response_bytes must be an int"),
    ({"max_response_bytes": 10}, ValueError, "max_response_bytes must be at least 1024"),
    ({"raise_app_exceptions": 1}, TypeError, "raise_app_exceptions must be True or False"),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_OPTIONS)
def test_bad_options_fail_at_once_naming_the_option(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        Config(**options)
    option = next(iter(options))
    assert str(caught.value).startswith(option)  # the option's name comes first
    assert message in str(caught.value)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="lifespan"):
        Config(lifespan="on")  # type: ignore[call-arg]


def test_config_is_immutable() -> None:
    config = Config()
    with pytest.raises(AttributeError, match="immutable"):
        config.base_path = "/x"
    assert "base_path=''" in repr(config)


@pytest.mark.parametrize(
    ("media_type", "is_text"),
    [
        ("text/html", True),
        ("text/event-stream", True),
        ("application/json", True),
        ("application/ld+json", True),
        ("application/xhtml+xml", True),
        ("image/svg+xml", True),
        ("application/jsonx", False),
        ("application/json-seq", False),
        ("image/png", False),
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_default_text_types(media_type: str, is_text: bool) -> None:
    assert Config().text_content_types.matches(media_type) is is_text


def test_text_type_patterns_with_a_wildcard_type() -> None:
    types = TextTypes(["*/*+yaml", "application/x-ndjson"])
    assert types.matches("application/vnd.x+yaml")
    assert types.matches("text/anything+yaml")
    assert types.matches("application/x-ndjson")
    assert not types.matches("application/yaml")
    assert repr(types) == "TextTypes(['*/*+yaml', 'application/x-ndjson'])"


# --- the neutral model -----------------------------------------------------------------------


def test_reason_phrases_match_the_standard_library() -> None:
    stdlib = {status.value: status.phrase for status in http.HTTPStatus}
    # Python < 3.13 still says "Request Entity Too Large" etc.; RFC 9110 renamed a few.
    renamed = {
        413: "Content Too Large",
        414: "URI Too Long",
        416: "Range Not Satisfiable",
        418: "I'm a Teapot",
        422: "Unprocessable Content",
    }
    for code, phrase in REASON_PHRASES.items():
        assert phrase == renamed.get(code, stdlib.get(code)), code
    assert set(stdlib) - set(REASON_PHRASES) <= {306, 509}
    assert reason_phrase(599) == "Unknown"


@pytest.mark.parametrize(
    ("path", "base", "expected"),
    [
        ("/account/x", "/account", ("/account", "/x")),
        ("/account", "/account", ("/account", "")),
        ("/accounts", "/account", ("", "/accounts")),
        ("/x", "", ("", "/x")),
        ("/", "/account", ("", "/")),
    ],
)
def test_split_base_path(path: str, base: str, expected: tuple[str, str]) -> None:
    assert split_base_path(path, base) == expected


@pytest.mark.parametrize(
    ("name", "dropped"),
    [("connection", True), ("proxy-foo", True), ("content-length", True), ("content-type", False)],
)
def test_dropped_response_headers(name: str, dropped: bool) -> None:
    assert is_dropped_response_header(name) is dropped


def make_request(**changes: Any) -> Request:
    fields: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/",
        "path": b"/",
        "query_string": "",
        "headers": (("host", "h"), ("x", "1"), ("x", "2")),
        "body": b"",
        "scheme": "http",
        "server": ("h", 80),
        "client": None,
    }
    fields.update(changes)
    return Request(**fields)


def test_request_fields_by_name_equality_and_replace() -> None:
    request = make_request()
    with pytest.raises(AttributeError):
        request.multi_value = True  # type: ignore[attr-defined]  # slots: no stray fields
    assert request == make_request()
    assert request != make_request(method="POST")
    assert request != "GET /"
    assert request.replace(body=b"x").body == b"x"
    assert request.header("x") == "2"
    assert request.header("missing") is None
    assert repr(request).startswith("Request(method='GET', raw_path='/'")
    assert "event=" not in repr(request)


def test_response_helpers() -> None:
    response = plain_response(503, "Down")
    assert response == Response(503, (("Content-Type", "text/plain; charset=utf-8"),), b"Down")
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert response.header("x") is None
