"""Shared test helpers: read an ALB response the same way in both header modes."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# The corpora of real events, beside the repository when they are available (tests skip without
# them): they are data from elsewhere, read in place and never copied in.
BESIDE_THE_REPOSITORY = Path(__file__).resolve().parents[2]
LAMBDA_EVENTS = BESIDE_THE_REPOSITORY / "shared" / "lambda-events"
ALB_EVENTS = BESIDE_THE_REPOSITORY / "shared" / "alb-events"

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def header_pairs(response: dict[str, Any]) -> list[tuple[str, str]]:
    """Every header a client would receive, as (lowercase name, value) pairs in order."""
    if "multiValueHeaders" in response:
        assert "headers" not in response, "a response must carry exactly one header field"
        return [
            (name.lower(), value)
            for name, values in response["multiValueHeaders"].items()
            for value in values
        ]
    return [(name.lower(), value) for name, value in response["headers"].items()]


def body_bytes(response: dict[str, Any]) -> bytes:
    body: str = response.get("body", "")
    if response["isBase64Encoded"]:
        return base64.b64decode(body, validate=True)
    return body.encode("utf-8")


def normalize(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, header pairs, body bytes): compare whole responses across header modes."""
    return response["statusCode"], header_pairs(response), body_bytes(response)


def simple_app(
    status: str = "200 OK",
    headers: Iterable[tuple[str, str]] = (("Content-Type", "text/plain; charset=utf-8"),),
    body: bytes = b"hello",
) -> Callable[[Environ, StartResponse], list[bytes]]:
    """A WSGI app that always answers the same thing, and records the environ it saw."""

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        app.environ = environ  # type: ignore[attr-defined]
        start_response(status, list(headers))
        return [body]

    return app


# --- secrets in logs (docs/alb-behaviour.md, rule 15) -------------------------------------------

SECRET = "s3cr3t-T0KEN"
# A function's malformed Set-Cookie: (the value it answers, ALB's reason in single-value mode, in
# multi-value mode). The reasons name fields and types, never the secret.
MALFORMED_COOKIES: list[tuple[object, str, str]] = [
    (
        [f"session={SECRET}", 7],
        "headers['set-cookie'] holds a value of type list; ALB accepts only strings "
        "(LambdaInvalidResponse)",
        "multiValueHeaders['set-cookie'] holds a value of type int; ALB accepts only strings "
        "(LambdaInvalidResponse)",
    ),
    (
        {"session": SECRET},
        "headers['set-cookie'] holds a value of type dict; ALB accepts only strings "
        "(LambdaInvalidResponse)",
        "multiValueHeaders['set-cookie'] must be a list of strings, got dict",
    ),
    (
        {SECRET: None},
        "response.headers.set-cookie.<key> is null (ALB answers 502 to a null anywhere)",
        "response.multiValueHeaders.set-cookie.<key> is null (ALB answers 502 to a null anywhere)",
    ),
]


def logged_above_debug(records: Iterable[Any]) -> list[str]:
    """Every log record above DEBUG as the text a log handler would write, traceback included."""
    import logging

    formatter = logging.Formatter()
    return [formatter.format(record) for record in records if record.levelno > logging.DEBUG]
