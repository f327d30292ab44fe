"""The services' own side: the payload 1.0 events a REST API and an HTTP API build, and how they
read a function's answer.

Never run inside Lambda: tests, the CLI and the local tools use it to produce what the real
services produce and to judge answers as they do. Each behaviour, with its evidence and what is
still unconfirmed, is in docs/sources/apigateway_v1.md.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from urllib.parse import parse_qsl, unquote

from ...errors import InvalidResponse
from ...model import Response, is_valid_status
from ..alb.balancer import EXAMPLE_CLIENT_IP, new_trace_id
from ..fields import DEFAULT_STAGE, host_name, is_execute_api_host
from ..service_side import (
    EXAMPLE_ACCOUNT_ID,
    EXAMPLE_API_ID,
    EXAMPLE_REGION,
    HTTP_API_ERROR_BODY,
    HTTP_API_ERROR_STATUS,
    HTTP_API_INTEGRATION_TIMEOUT_SECONDS,
    HTTP_API_TIMEOUT_BODY,
    HTTP_API_TIMEOUT_STATUS,
    clf_time,
    decode_response_body,
    describe_status,
    execute_api_domain,
    is_request_text_type,
    short_request_id,
)
from .response import APIGW_V1_MAX_JSON_BYTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ...model import Headers

# The public names: an HTTP API's own answers (the same for payload 2.0) and the example ids are
# stated once for API Gateway, in alb_adapter/sources/service_side.py, and read here too.
__all__ = [
    "EXAMPLE_ACCOUNT_ID",
    "EXAMPLE_API_ID",
    "EXAMPLE_REGION",
    "EXAMPLE_REST_STAGE",
    "HTTP_API_ERROR_BODY",
    "HTTP_API_ERROR_STATUS",
    "HTTP_API_INTEGRATION_TIMEOUT_SECONDS",
    "HTTP_API_TIMEOUT_BODY",
    "HTTP_API_TIMEOUT_STATUS",
    "RESPONSE_FIELDS",
    "REST_ERROR_BODY",
    "REST_ERROR_STATUS",
    "REST_INTEGRATION_TIMEOUT_SECONDS",
    "REST_TIMEOUT_BODY",
    "REST_TIMEOUT_STATUS",
    "error_response",
    "execute_api_domain",
    "parse_response",
    "request_event",
]

EXAMPLE_REST_STAGE = "prod"  # a REST API has no unnamed stage

# What the client gets when a REST API cannot use the function's answer, or the function failed;
# an HTTP API's is HTTP_API_ERROR_STATUS and HTTP_API_ERROR_BODY.
REST_ERROR_STATUS = 502
REST_ERROR_BODY = b'{"message": "Internal server error"}'
# How long a REST API waits for the function, and what it answers past that: 29 s is a default
# that Regional and private APIs may raise. An HTTP API's 30 s (HTTP_API_TIMEOUT_*) is fixed.
REST_INTEGRATION_TIMEOUT_SECONDS = 29
REST_TIMEOUT_STATUS = 504
REST_TIMEOUT_BODY = b'{"message": "Endpoint request timed out"}'

RESPONSE_FIELDS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_OWN_HEADERS = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id")


def error_response(*, http_api: bool = False) -> Response:
    """What the service answers itself when the function failed or its answer is malformed."""
    status, body = (
        (HTTP_API_ERROR_STATUS, HTTP_API_ERROR_BODY)
        if http_api
        else (REST_ERROR_STATUS, REST_ERROR_BODY)
    )
    return Response(status, (("content-type", "application/json"),), body)


# --------------------------------------------------------------------------- the request


def request_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    http_api: bool = False,
    stage: str | None = None,
    client_ip: str = EXAMPLE_CLIENT_IP,
    scheme: str = "https",
    host: str | None = None,
    port: int | None = None,
    api_id: str = EXAMPLE_API_ID,
    binary_media_types: Iterable[str] = (),
    trace_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The event a REST API (or, with ``http_api=True``, an HTTP API with payload format 1.0)
    sends when a client requests ``target`` (the raw path and query as on the wire).

    ``stage`` defaults to ``prod`` for a REST API and ``$default`` for an HTTP API. On the
    execute-api host (the default; ``host`` or a Host header names a custom domain instead) the
    client's URL starts with a named stage: ``target`` must too, or the service would answer
    403 (REST) or 404 itself (ValueError here). A REST API then sends ``path`` without it, still
    percent-encoded; an HTTP API sends it decoded, stage included. On a custom domain the API
    mapping picks the stage and ``target`` is taken as it is.

    The service's own work is done as it does it: header names as the client spelled them, each
    map sorted by name; X-Forwarded-For (``client_ip`` appended to any the client sent), -Proto,
    -Port and a trace id added; Host and Content-Length as a client sends them, Content-Length
    then dropped by a REST API; the query decoded into both maps (null without one). A REST API
    sends a body as base64 only when its Content-Type matches ``binary_media_types`` (``*/*``,
    ``type/*`` or exact), else as text, bytes that are not UTF-8 replaced by U+FFFD; an HTTP API
    as text only for text types.
    """
    if stage is None:
        stage = DEFAULT_STAGE if http_api else EXAMPLE_REST_STAGE
    if not http_api and stage == DEFAULT_STAGE:
        raise ValueError("a REST API stage has a name; '$default' is an HTTP API's")
    now = time.time() if now is None else now
    raw_path, _, raw_query = target.partition("?")
    raw_path = raw_path or "/"

    pairs = [(str(name), str(value)) for name, value in headers]
    names = {name.lower() for name, _ in pairs}
    if "host" not in names:
        pairs.insert(0, ("Host", host or execute_api_domain(api_id)))
    domain = host_name(next(value for name, value in pairs if name.lower() == "host")).lower()
    if body and "content-length" not in names:
        pairs.append(("Content-Length", str(len(body))))

    path, context_path = _paths(raw_path, domain, stage, http_api)
    pairs = _forwarded(pairs, client_ip, scheme, port, trace_id or new_trace_id(now), http_api)
    text, encoded = (
        _http_api_body(body, pairs) if http_api else _rest_body(body, pairs, binary_media_types)
    )
    single, multi = _header_maps(pairs)
    query, multi_query = _query_maps(raw_query)
    user_agent = next((value for name, value in pairs if name.lower() == "user-agent"), None)
    request_context = (
        _http_api_context(method, path, stage, domain, api_id, client_ip, user_agent, now)
        if http_api
        else _rest_context(
            method, path, context_path, stage, domain, api_id, client_ip, user_agent, now
        )
    )
    event: dict[str, Any] = {"version": "1.0"} if http_api else {}
    if http_api:
        resource, path_parameters = path, None
    elif path == "/":
        resource, path_parameters = "/", None
    else:  # the greedy proxy resource most proxy integrations use
        resource, path_parameters = "/{proxy+}", {"proxy": path[1:]}
    event.update(
        {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters,
            "stageVariables": None,
            "requestContext": request_context,
            "body": text,
            "isBase64Encoded": encoded,
        }
    )
    return event


def _paths(raw_path: str, domain: str, stage: str, http_api: bool) -> tuple[str, str]:
    """(``path``, ``requestContext.path``) for the client's raw path."""
    decoded = unquote(raw_path)
    if stage != DEFAULT_STAGE and is_execute_api_host(domain):
        prefix = f"/{stage}"
        if not (decoded == prefix or decoded.startswith(prefix + "/")):
            answer = "404" if http_api else "403"
            raise ValueError(
                f"on the execute-api host the client's path starts with the stage {prefix!r} "
                f"(the service answers {answer} to {raw_path!r})"
            )
        if not http_api:
            return raw_path[len(prefix) :] or "/", raw_path
    if http_api:
        return decoded, decoded
    return raw_path, raw_path


def _forwarded(
    pairs: list[tuple[str, str]],
    client_ip: str,
    scheme: str,
    port: int | None,
    trace_id: str,
    http_api: bool,
) -> list[tuple[str, str]]:
    """The headers as the service forwards them: its own X-Forwarded-* and trace id replacing the
    client's (X-Forwarded-For appended to), Content-Length dropped by a REST API."""
    forwarded_for = [value for name, value in pairs if name.lower() == "x-forwarded-for"]
    dropped = _OWN_HEADERS if http_api else (*_OWN_HEADERS, "content-length")
    out = [pair for pair in pairs if pair[0].lower() not in dropped]
    out += [
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", ", ".join([*forwarded_for, client_ip])),
        ("X-Forwarded-Port", str(port or (443 if scheme == "https" else 80))),
        ("X-Forwarded-Proto", scheme),
    ]
    return out


def _header_maps(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``headers`` (the last value of each spelling) and ``multiValueHeaders`` (every value), keys
    as the client spelled them, sorted by name as the captured events are."""
    multi: dict[str, list[str]] = {}
    for name, value in sorted(pairs, key=lambda pair: pair[0].lower()):
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _query_maps(
    raw_query: str,
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """The two query maps, keys and values form-decoded (``+`` a space); null without a query."""
    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        multi.setdefault(key, []).append(value)
    if not multi:
        return None, None
    return {key: values[-1] for key, values in multi.items()}, multi


def _media_type(pairs: list[tuple[str, str]]) -> str:
    content_type = next((value for name, value in pairs if name.lower() == "content-type"), "")
    return content_type.partition(";")[0].strip().lower()


def _rest_body(
    body: bytes, pairs: list[tuple[str, str]], binary_media_types: Iterable[str]
) -> tuple[str | None, bool]:
    """(body, isBase64Encoded) as a REST API sends them: base64 only for a binary media type."""
    if not body:
        return None, False
    media_type = _media_type(pairs)
    for pattern in binary_media_types:
        wanted = pattern.strip().lower()
        if wanted in ("*/*", media_type) or (
            wanted.endswith("/*") and media_type.startswith(wanted[:-1])
        ):
            return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", "replace"), False


def _http_api_body(body: bytes, pairs: list[tuple[str, str]]) -> tuple[str | None, bool]:
    """(body, isBase64Encoded) as an HTTP API sends them: text for text/*, JSON, JavaScript and
    XML when nothing encodes it and it is UTF-8, else base64 (payload 2.0's rule; unconfirmed for
    1.0, and the codec follows only the flag). The flag follows the same rule when there is no
    body (a captured GET has ``body: null`` with ``isBase64Encoded: true``)."""
    has_encoding = any(name.lower() == "content-encoding" for name, _ in pairs)
    encoded = has_encoding or not is_request_text_type(_media_type(pairs))
    if not body:
        return None, encoded
    if not encoded:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _identity(client_ip: str, user_agent: str | None) -> dict[str, object]:
    return {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": client_ip,
        "user": None,
        "userAgent": user_agent,
        "userArn": None,
    }


def _rest_context(
    method: str,
    path: str,
    context_path: str,
    stage: str,
    domain: str,
    api_id: str,
    client_ip: str,
    user_agent: str | None,
    now: float,
) -> dict[str, object]:
    return {
        "resourceId": os.urandom(3).hex(),
        "resourcePath": "/" if path == "/" else "/{proxy+}",
        "httpMethod": method,
        "extendedRequestId": short_request_id(),
        "requestTime": clf_time(now),
        "path": context_path,
        "accountId": EXAMPLE_ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": domain.partition(".")[0],
        "requestTimeEpoch": int(now * 1000),
        "requestId": str(uuid.uuid4()),
        "identity": _identity(client_ip, user_agent),
        "domainName": domain,
        "deploymentId": os.urandom(3).hex(),
        "apiId": api_id,
    }


def _http_api_context(
    method: str,
    path: str,
    stage: str,
    domain: str,
    api_id: str,
    client_ip: str,
    user_agent: str | None,
    now: float,
) -> dict[str, object]:
    request_id = short_request_id()
    return {
        "accountId": EXAMPLE_ACCOUNT_ID,
        "apiId": api_id,
        "authorizer": {"claims": None, "scopes": None},
        "domainName": domain,
        "domainPrefix": domain.partition(".")[0],
        "extendedRequestId": request_id,
        "httpMethod": method,
        "identity": _identity(client_ip, user_agent),
        "path": path,
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": clf_time(now),
        "requestTimeEpoch": int(now * 1000),
        "resourceId": None,  # HTTP APIs have routes, not resources
        "resourcePath": path,
        "stage": stage,
    }


# --------------------------------------------------------------------------- the answer


def parse_response(
    payload: object,
    *,
    http_api: bool = False,
    binary: bool = True,
    max_bytes: int = APIGW_V1_MAX_JSON_BYTES,
) -> Response:
    """Read a function's answer the way a REST API (or, with ``http_api=True``, an HTTP API with
    payload format 1.0) does, raising InvalidResponse wherever the service answers its own error
    (``error_response``: 502 for a REST API, 500 for an HTTP API).

    Only the five keys are accepted (for an HTTP API that, and a missing ``statusCode`` being an
    error, are unconfirmed: the strict reading); ``headers`` and ``multiValueHeaders`` are merged,
    a name in both keeping only its ``multiValueHeaders`` values (compared case-insensitively,
    also unconfirmed). A REST API
    turns a base64 body back into bytes only when its binaryMediaTypes match the request:
    ``binary=False`` gives what the client gets otherwise, the base64 text itself; an HTTP API
    always decodes it. A REST API adds ``Content-Type: application/json`` to an answer without
    one. Messages name fields and types, never a value (a header may be a cookie or a token).
    """
    if not isinstance(payload, dict):
        raise InvalidResponse(f"the response must be a JSON object, got {type(payload).__name__}")
    try:
        size = len(json.dumps(payload))
    except (TypeError, ValueError):
        raise InvalidResponse("the response is not JSON-serialisable") from None
    if size > max_bytes:
        raise InvalidResponse(
            f"the response JSON is {size} bytes, over Lambda's limit of {max_bytes} for a "
            "synchronous invocation"
        )
    unknown = sorted(str(key) for key in payload if key not in RESPONSE_FIELDS)
    if unknown:
        raise InvalidResponse(
            f"the response has keys API Gateway does not accept: {', '.join(unknown)} "
            f"(it accepts only {', '.join(sorted(RESPONSE_FIELDS))})"
        )
    status = payload.get("statusCode")
    if not is_valid_status(status):
        raise InvalidResponse(
            f"statusCode must be an integer from 100 to 599, got {describe_status(status)}"
        )
    assert isinstance(status, int)
    headers = _response_headers(payload.get("headers"), payload.get("multiValueHeaders"))
    if not http_api and not any(name == "content-type" for name, _ in headers):
        headers = (*headers, ("content-type", "application/json"))

    encoded = payload.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise InvalidResponse(
            f"isBase64Encoded must be true or false, got {type(encoded).__name__}"
        )
    text = payload.get("body")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InvalidResponse(f"body must be a string, got {type(text).__name__}")
    body = decode_response_body(text, bool(encoded) and (binary or http_api))
    return Response(status, headers, body)


def _response_headers(single: object, multi: object) -> Headers:
    """``headers`` then ``multiValueHeaders`` as (lowercase name, value) pairs, a name in both
    keeping only its ``multiValueHeaders`` values."""
    pairs: list[tuple[str, str]] = []
    in_multi: set[str] = set()
    if multi is not None:
        if not isinstance(multi, dict):
            raise InvalidResponse(
                f"multiValueHeaders must be an object, got {type(multi).__name__}"
            )
        for name, values in multi.items():
            if not isinstance(values, list):
                raise InvalidResponse(
                    f"multiValueHeaders[{name!r}] must be a list of strings, "
                    f"got {type(values).__name__}"
                )
            in_multi.add(str(name).lower())
    if single is not None:
        if not isinstance(single, dict):
            raise InvalidResponse(f"headers must be an object, got {type(single).__name__}")
        for name, value in single.items():
            if str(name).lower() in in_multi:
                continue
            if not isinstance(value, str):
                raise InvalidResponse(
                    f"headers[{name!r}] holds a value of type {type(value).__name__}; only "
                    "strings are accepted"
                )
            pairs.append((str(name).lower(), value))
    if isinstance(multi, dict):
        for name, values in multi.items():
            for value in values:
                if not isinstance(value, str):
                    raise InvalidResponse(
                        f"multiValueHeaders[{name!r}] holds a value of type "
                        f"{type(value).__name__}; only strings are accepted"
                    )
                pairs.append((str(name).lower(), value))
    return tuple(pairs)
