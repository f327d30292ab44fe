"""The services' own side: the payload 2.0 events an HTTP API and a Function URL build, and how
they read a function's answer.

Never run inside Lambda: tests, the CLI and the local tools use it to produce what the real
services produce and to judge answers as they do. Each behaviour, with its evidence and what is
still unconfirmed, is in docs/sources/apigateway_v2.md.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qsl, unquote

from ...errors import InvalidResponse
from ...log import logger
from ...model import Response, is_valid_status
from ..alb.balancer import EXAMPLE_CLIENT_IP, new_trace_id
from ..fields import DEFAULT_STAGE, is_execute_api_host
from ..service_side import (
    EXAMPLE_ACCOUNT_ID,
    EXAMPLE_API_ID,
    EXAMPLE_REGION,
    HTTP_API_ERROR_BODY,
    HTTP_API_ERROR_STATUS,
    HTTP_API_TIMEOUT_BODY,
    HTTP_API_TIMEOUT_STATUS,
    clf_time,
    decode_response_body,
    describe_status,
    execute_api_domain,
    request_body_text,
    short_request_id,
    string_headers,
)
from .response import PAYLOAD_V2_MAX_JSON_BYTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ...model import Headers

# The public names: the HTTP API's own answers (the same for payload 1.0) and the example ids are
# stated once for API Gateway, in alb_adapter/sources/service_side.py, and read here too.
__all__ = [
    "EXAMPLE_ACCOUNT_ID",
    "EXAMPLE_API_ID",
    "EXAMPLE_REGION",
    "EXAMPLE_URL_ID",
    "FUNCTION_URL_ERROR_BODY",
    "FUNCTION_URL_ERROR_STATUS",
    "HTTP_API_ERROR_BODY",
    "HTTP_API_ERROR_STATUS",
    "HTTP_API_TIMEOUT_BODY",
    "HTTP_API_TIMEOUT_STATUS",
    "RESPONSE_FIELDS",
    "function_url_domain",
    "http_api_domain",
    "parse_response",
    "request_event",
]

EXAMPLE_URL_ID = "abcdefghijklmnopqrstuvwxyz234567"  # 32 characters, as Function URL ids are

# What the client gets when a Function URL cannot use the function's answer (or the function
# failed): 502 with this text (its exact answer is unconfirmed). An HTTP API's:
# HTTP_API_ERROR_STATUS and HTTP_API_ERROR_BODY.
FUNCTION_URL_ERROR_STATUS = 502
FUNCTION_URL_ERROR_BODY = b"Internal Server Error"

RESPONSE_FIELDS = frozenset({"statusCode", "headers", "cookies", "body", "isBase64Encoded"})


def http_api_domain(api_id: str = EXAMPLE_API_ID, region: str = EXAMPLE_REGION) -> str:
    """An HTTP API's own (execute-api) domain."""
    return execute_api_domain(api_id, region)


def function_url_domain(url_id: str = EXAMPLE_URL_ID, region: str = EXAMPLE_REGION) -> str:
    """A Function URL's domain: the one it is called on, and what tells its events apart."""
    return f"{url_id}.lambda-url.{region}.on.aws"


def request_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    function_url: bool = False,
    stage: str = DEFAULT_STAGE,
    client_ip: str = EXAMPLE_CLIENT_IP,
    scheme: str = "https",
    host: str | None = None,
    port: int | None = None,
    api_id: str | None = None,
    trace_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The event an HTTP API (payload 2.0) or, with ``function_url=True``, a Function URL sends
    when a client requests ``target`` (the raw path and query as on the wire).

    The service's own work is done as it does it: header names lowercased and repeated headers
    joined with commas; the Cookie header split into ``cookies`` (and, for an HTTP API, removed);
    X-Forwarded-For (``client_ip`` appended to any the client sent), -Proto, -Port and a trace id
    added; Host (the service's own domain unless ``host`` or a Host header says otherwise) and
    Content-Length as a client sends them; an HTTP API's ``rawPath`` percent-decoded (as UTF-8; an
    escape that is not UTF-8 becomes U+FFFD, the service's own behaviour there being unknown), a
    Function URL's kept raw; the body as text only for text types.

    With a named ``stage`` on the execute-api domain the client's URL starts with ``/<stage>``:
    ``target`` must too, or the service would answer 404 itself (ValueError here). On a custom
    domain (``host``) the API mapping picks the stage and ``target`` is taken as it is.
    """
    if function_url and stage != DEFAULT_STAGE:
        raise ValueError("a Function URL has no stages: stage is always '$default'")
    raw_path, _, raw_query = target.partition("?")
    raw_path = raw_path or "/"
    decoded_path = unquote(raw_path)
    if api_id is None:
        api_id = EXAMPLE_URL_ID if function_url else EXAMPLE_API_ID
    domain = function_url_domain(api_id) if function_url else http_api_domain(api_id)
    now = time.time() if now is None else now

    pairs = [(name.lower(), value) for name, value in headers]
    names = {name for name, _ in pairs}
    if "host" not in names:
        pairs.insert(0, ("host", host or domain))
    host_name = _host_name(next(value for name, value in pairs if name == "host"))
    if (
        stage != DEFAULT_STAGE
        and is_execute_api_host(host_name)
        and not (decoded_path == f"/{stage}" or decoded_path.startswith(f"/{stage}/"))
    ):
        raise ValueError(f"with stage {stage!r} the client's path starts with '/{stage}'")
    if body and "content-length" not in names:
        pairs.append(("content-length", str(len(body))))
    forwarded_for = [value for name, value in pairs if name == "x-forwarded-for"]
    pairs = [
        pair
        for pair in pairs
        if pair[0] not in ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-port")
    ]
    pairs += [
        ("x-forwarded-for", ", ".join([*forwarded_for, client_ip])),
        ("x-forwarded-proto", scheme),
        ("x-forwarded-port", str(port or (443 if scheme == "https" else 80))),
        ("x-amzn-trace-id", trace_id or new_trace_id(now)),
    ]
    if function_url and scheme == "https":
        pairs += [
            ("x-amzn-tls-cipher-suite", "TLS_AES_128_GCM_SHA256"),
            ("x-amzn-tls-version", "TLSv1.3"),
        ]
    cookies = [
        crumb.strip()
        for name, value in pairs
        if name == "cookie"
        for crumb in value.split(";")
        if crumb.strip()
    ]
    if not function_url:  # an HTTP API sends the cookies only in `cookies`
        pairs = [pair for pair in pairs if pair[0] != "cookie"]
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path if function_url else decoded_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if raw_query:
        event["queryStringParameters"] = _decoded_query(raw_query)
    event["requestContext"] = {
        "accountId": "anonymous" if function_url else EXAMPLE_ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain if function_url else host_name,
        "domainPrefix": (domain if function_url else host_name).split(".")[0],
        "http": {
            "method": method,
            "path": decoded_path,
            "protocol": "HTTP/1.1",
            "sourceIp": client_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()) if function_url else short_request_id(),
        "routeKey": "$default",
        "stage": stage,
        "time": clf_time(now),
        "timeEpoch": int(now * 1000),
    }
    if body:
        text, encoded = request_body_text(body, pairs)
        event["body"] = text
        event["isBase64Encoded"] = encoded
    else:
        event["isBase64Encoded"] = False
    return event


def _decoded_query(raw_query: str) -> dict[str, str]:
    """``queryStringParameters``: keys and values form-decoded, repeated keys joined with
    commas in order (which is why the codec reads ``rawQueryString`` instead)."""
    decoded: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        decoded[key] = f"{decoded[key]},{value}" if key in decoded else value
    return decoded


def _host_name(host: str) -> str:
    return host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() else host


def parse_response(payload: object, *, max_bytes: int = PAYLOAD_V2_MAX_JSON_BYTES) -> Response:
    """Read a function's answer as an HTTP API (payload 2.0) or a Function URL does, raising
    InvalidResponse where the service answers its own error (``HTTP_API_ERROR_STATUS``,
    ``FUNCTION_URL_ERROR_STATUS``).

    Any JSON value without ``statusCode`` is inferred: 200, ``content-type: application/json``,
    the value itself as the body. Every ``cookies`` entry becomes a ``set-cookie`` header, after
    the ``headers``. Keys the format does not have (``multiValueHeaders``) are ignored, with a
    warning, as their headers never reach the client. Messages name fields and types, never a
    value (a cookie or a body may be a secret).
    """
    size = len(json.dumps(payload))  # ASCII-escaped, as the runtime sends it
    if size > max_bytes:
        raise InvalidResponse(
            f"the response JSON is {size} bytes, over Lambda's limit of {max_bytes}"
        )
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return Response(
            200, (("content-type", "application/json"),), json.dumps(payload).encode("utf-8")
        )
    status = payload["statusCode"]
    if not is_valid_status(status):
        got = describe_status(status, _describe)
        raise InvalidResponse(f"statusCode must be an integer from 100 to 599, got {got}")
    assert isinstance(status, int)
    ignored = sorted(str(key) for key in payload if key not in RESPONSE_FIELDS)
    if ignored:
        logger().warning(
            "the response has %s, which payload 2.0 does not have: ignored", ", ".join(ignored)
        )
    pairs = string_headers(payload.get("headers", {}), _describe, "an object of strings")
    cookies = payload.get("cookies", [])
    if not isinstance(cookies, list):
        raise InvalidResponse(f"cookies must be a list of strings, got {_describe(cookies)}")
    for index, cookie in enumerate(cookies):
        if not isinstance(cookie, str):
            raise InvalidResponse(f"cookies[{index}] must be a string, got {_describe(cookie)}")
        pairs.append(("set-cookie", cookie))

    encoded = payload.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise InvalidResponse(f"isBase64Encoded must be true or false, got {_describe(encoded)}")
    body_text = payload.get("body", "")
    if not isinstance(body_text, str):
        raise InvalidResponse(f"body must be a string, got {_describe(body_text)}")
    headers: Headers = tuple(pairs)
    return Response(status, headers, decode_response_body(body_text, encoded))


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__
