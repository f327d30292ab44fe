"""What the services' own sides share: the ``service.py`` of each source (``balancer.py`` for
ALB), which build the events a service sends and read a function's answer as the service does.

The services state some rules alike (which request bodies travel as text; how an answer's body is
decoded) and API Gateway's two payload formats are one service's (its example ids and host, an
HTTP API's own answers, its time and request-id formats): each is written here once.

Never imported by a ``request.py`` or ``response.py``, so never loaded inside Lambda: tests, the
CLI and the local tools use it through the service modules.
"""

from __future__ import annotations

import base64
import os
import time

from ..errors import InvalidResponse
from .fields import b64decode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable

# --------------------------------------------------------------------------- request bodies

# Request bodies of these media types, and of text/*, travel as text when nothing encodes them;
# every other body (no Content-Type, forms, any Content-Encoding) as base64. ALB, API Gateway
# HTTP APIs, Function URLs and VPC Lattice state the same rule; a REST API has its own.
REQUEST_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")


def is_request_text_type(media_type: str) -> bool:
    """Whether a request body of this lowercase media type (no parameters) travels as text."""
    return media_type.startswith("text/") or media_type in REQUEST_TEXT_TYPES


def request_body_text(body: bytes, lowercase_headers: list[tuple[str, str]]) -> tuple[str, bool]:
    """(body, isBase64Encoded) as the event carries a request body: text for a text type when no
    Content-Encoding is sent; base64 otherwise, and for a text type whose bytes are not UTF-8,
    which cannot go into JSON as text. An empty body is ``("", False)``."""
    if not body:
        return "", False
    last = dict(lowercase_headers)
    media_type = last.get("content-type", "").partition(";")[0].strip().lower()
    if "content-encoding" not in last and is_request_text_type(media_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


# --------------------------------------------------------------------------- answers


def decode_response_body(text: str, encoded: bool) -> bytes:
    """An answer's ``body`` as bytes: strict base64 when ``encoded``, else the text's UTF-8 (lone
    surrogates kept, so that a check further on can refuse them). InvalidResponse for base64 that
    is not, which every service answers with its own error."""
    if not encoded:
        return text.encode("utf-8", "surrogatepass")
    try:
        return b64decode(text)
    except ValueError:  # binascii.Error is one
        raise InvalidResponse("isBase64Encoded is true but body is not valid base64") from None


def type_name(value: object) -> str:
    """A value's type, the only thing an error may say of it: a value may be a secret."""
    return type(value).__name__


def describe_status(status: object, describe: Callable[[object], str] = type_name) -> str:
    """An out-of-range number is worth showing; anything else only as ``describe`` names it (its
    type, by default)."""
    if isinstance(status, int) and not isinstance(status, bool):
        return str(status)
    return describe(status)


def string_headers(
    value: object, describe: Callable[[object], str], expected: str = "an object"
) -> list[tuple[str, str]]:
    """(lowercase name, value) pairs of an answer's ``headers`` that holds one string per name
    (payload 2.0, VPC Lattice). InvalidResponse names the field and the type, never a value: it
    may be a cookie or a token."""
    if not isinstance(value, dict):
        raise InvalidResponse(f"headers must be {expected}, got {describe(value)}")
    pairs: list[tuple[str, str]] = []
    for name, item in value.items():
        if not isinstance(item, str):
            raise InvalidResponse(f"headers[{name!r}] must be a string, got {describe(item)}")
        pairs.append((str(name).lower(), item))
    return pairs


# --------------------------------------------------------------------------- API Gateway

# The ids the API Gateway events carry when the caller names none.
EXAMPLE_API_ID = "a1b2c3d4e5"
EXAMPLE_REGION = "us-east-1"
EXAMPLE_ACCOUNT_ID = "123456789012"

# What the client gets from an HTTP API, whatever the payload format, when it cannot use the
# function's answer or the function failed, and when it stops waiting for the function: after 30
# seconds, whatever the function's own timeout.
HTTP_API_ERROR_STATUS = 500
HTTP_API_ERROR_BODY = b'{"message":"Internal Server Error"}'
HTTP_API_INTEGRATION_TIMEOUT_SECONDS = 30
HTTP_API_TIMEOUT_STATUS = 503
HTTP_API_TIMEOUT_BODY = b'{"message":"Service Unavailable"}'

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def execute_api_domain(api_id: str = EXAMPLE_API_ID, region: str = EXAMPLE_REGION) -> str:
    """An API's own host name, whose URLs start with a named stage: ``/<stage>/...``."""
    return f"{api_id}.execute-api.{region}.amazonaws.com"


def clf_time(now: float) -> str:
    """``requestContext.requestTime``: ``24/Mar/2020:23:08:34 +0000``, whatever the locale."""
    t = time.gmtime(now)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def short_request_id() -> str:
    """An HTTP API request id or a REST API's extended one: 11 random bytes in base64
    (``ATfSmjLgPHcESJw=``)."""
    return base64.b64encode(os.urandom(11)).decode("ascii")
