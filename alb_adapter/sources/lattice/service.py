"""VPC Lattice's own side: the events it sends a Lambda target and how it reads the answer.

Never run inside Lambda: the test helpers, the CLI and the local tools use it to produce the
events Lattice produces and to refuse the answers Lattice refuses. Where Lattice's behaviour is
unconfirmed the guess made is the one the request side reads correctly either way; each is listed
in docs/sources/lattice.md.
"""

from __future__ import annotations

import time

from ...errors import InvalidResponse
from ...log import logger
from ...model import Response, is_valid_status
from ..alb.balancer import EXAMPLE_CLIENT_IP
from ..rendering import json_size
from ..service_side import decode_response_body, describe_status, request_body_text, string_headers
from .response import LATTICE_MAX_JSON_BYTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Literal

    Version = Literal["V1", "V2"]

# A service's own domain name, as Lattice generates it (a custom domain name is the other kind).
EXAMPLE_HOST = "my-service-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws"
EXAMPLE_SERVICE_NETWORK_ARN = (
    "arn:aws:vpc-lattice:us-east-1:123456789012:servicenetwork/sn-0123456789abcdef0"
)
EXAMPLE_SERVICE_ARN = "arn:aws:vpc-lattice:us-east-1:123456789012:service/svc-0123456789abcdef0"
EXAMPLE_TARGET_GROUP_ARN = (
    "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123456789abcdef0"
)
EXAMPLE_VPC_ARN = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0"

# The only fields Lattice reads in an answer.
RESPONSE_FIELDS = frozenset(
    {"statusCode", "statusDescription", "headers", "body", "isBase64Encoded"}
)
# What Lattice answers the client when the function's answer is unusable. Unconfirmed: no source
# shows it; 502 with no body is what a proxy answers for a bad upstream response.
INVALID_RESPONSE_STATUS = 502
INVALID_RESPONSE_BODY = b""


def request_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    client_ip: str = EXAMPLE_CLIENT_IP,
    scheme: str = "https",
    host: str | None = EXAMPLE_HOST,
    port: int | None = None,
    version: Version = "V2",
    proto_headers: bool = False,
    now: float | None = None,
    service_network_arn: str = EXAMPLE_SERVICE_NETWORK_ARN,
    service_arn: str = EXAMPLE_SERVICE_ARN,
    target_group_arn: str = EXAMPLE_TARGET_GROUP_ARN,
) -> dict[str, Any]:
    """The event Lattice sends a target group of event structure ``version`` when an HTTP client
    requests ``target`` (the path as sent, which may carry the raw query) with ``headers``.

    The client's own headers come first: Host (from ``host`` and ``port``, unless ``host`` is None
    or a Host header is given) and Content-Length for a body. Lattice then appends ``client_ip``
    to X-Forwarded-For. ``proto_headers=True`` adds the ``x-forwarded-for-proto`` and
    ``x-forwarded-for-port`` headers Lattice documents for HTTP targets; whether Lambda targets
    get them is unconfirmed, so they are off by default and the scheme reaches the event only
    through them. Names are lowercased; the path and query are passed as sent; V1 joins a
    repeated header with ``", "`` and keeps the last value of a repeated query key, V2 keeps
    lists. ``now`` (seconds since the epoch) fixes V2's ``timeEpoch``.
    """
    default_port = 443 if scheme == "https" else 80
    port = default_port if port is None else port
    pairs = [(str(name).lower(), str(value)) for name, value in headers]
    names = {name for name, _ in pairs}
    if host is not None and "host" not in names:
        pairs.insert(0, ("host", host if port == default_port else f"{host}:{port}"))
    if body and "content-length" not in names:
        pairs.append(("content-length", str(len(body))))
    forwarded = [value for name, value in pairs if name == "x-forwarded-for"]
    pairs = [pair for pair in pairs if pair[0] != "x-forwarded-for"]
    pairs.append(("x-forwarded-for", ", ".join([*forwarded, client_ip])))
    if proto_headers:
        pairs = [pair for pair in pairs if not pair[0].startswith("x-forwarded-for-")]
        pairs += [("x-forwarded-for-proto", scheme), ("x-forwarded-for-port", str(port))]

    raw_path, _, raw_query = target.partition("?")
    query = [item.partition("=") for item in raw_query.split("&") if item]
    # The request-body rule the Lattice guide states for both event structures; what Lattice does
    # with a text type whose bytes are not UTF-8 is unconfirmed (the request side reads either).
    text, encoded = request_body_text(body, pairs)
    if version == "V1":
        joined: dict[str, str] = {}
        for name, value in pairs:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return {
            "raw_path": raw_path or "/",
            "method": method,
            "headers": joined,
            "query_string_parameters": {key: value for key, _, value in query},
            "body": text,
            "is_base64_encoded": encoded,
        }
    listed: dict[str, list[str]] = {}
    for name, value in pairs:
        listed.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for key, _, value in query:
        multi_query.setdefault(key, []).append(value)
    seconds = time.time() if now is None else now
    return {
        "version": "2.0",
        "path": raw_path or "/",
        "method": method,
        "headers": listed,
        "queryStringParameters": multi_query,
        "body": text,
        "isBase64Encoded": encoded,
        "requestContext": {
            "serviceNetworkArn": service_network_arn,
            "serviceArn": service_arn,
            "targetGroupArn": target_group_arn,
            "identity": {"sourceVpcArn": EXAMPLE_VPC_ARN},
            "region": target_group_arn.split(":")[3],
            "timeEpoch": str(int(seconds * 1_000_000)),  # microseconds, as a string
        },
    }


def parse_response(payload: object, *, max_bytes: int = LATTICE_MAX_JSON_BYTES) -> Response:
    """Read a Lambda answer the way Lattice does, raising InvalidResponse where Lattice would
    answer its own error (``INVALID_RESPONSE_STATUS``) instead of the function's.

    The guide requires ``statusCode``, ``headers`` and ``isBase64Encoded``; ``body`` and
    ``statusDescription`` are optional; other fields (``cookies``, ``multiValueHeaders``) are
    dropped with a warning, as Lattice ignores them (unconfirmed). Each case variant of a
    Set-Cookie key becomes one Set-Cookie header. Messages name fields, header names and types,
    never a value, which may be a secret.
    """
    if not isinstance(payload, dict):
        raise InvalidResponse(f"the response must be a JSON object, got {type(payload).__name__}")
    size = json_size(payload)
    if size > max_bytes:
        raise InvalidResponse(
            f"the response JSON is {size} bytes, over VPC Lattice's limit of {max_bytes}"
        )
    ignored = sorted(str(key) for key in payload if key not in RESPONSE_FIELDS)
    if ignored:
        logger().warning(
            "the response has %s, which VPC Lattice does not read: dropped", ", ".join(ignored)
        )
    status = payload.get("statusCode")
    if not is_valid_status(status):
        got = describe_status(status, _describe)
        raise InvalidResponse(f"statusCode must be an integer from 100 to 599, got {got}")
    assert isinstance(status, int)
    reason = None
    if "statusDescription" in payload:
        description = payload["statusDescription"]
        if not isinstance(description, str):
            raise InvalidResponse(
                f"statusDescription must be a string, got {type(description).__name__}"
            )
        reason = description.partition(" ")[2] or None
    headers = tuple(string_headers(payload.get("headers"), _describe))
    encoded = payload.get("isBase64Encoded")
    if not isinstance(encoded, bool):
        raise InvalidResponse(f"isBase64Encoded must be true or false, got {_describe(encoded)}")
    body_text = payload.get("body", "")
    if not isinstance(body_text, str):
        raise InvalidResponse(f"body must be a string, got {_describe(body_text)}")
    return Response(status, headers, decode_response_body(body_text, encoded), reason)


def _describe(value: object) -> str:
    return "nothing (missing or null)" if value is None else type(value).__name__
