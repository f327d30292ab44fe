"""Response -> the payload 2.0 answer: the response side of API Gateway HTTP APIs (payload 2.0)
and Lambda Function URLs, run on every invocation.

One format serves both: ``statusCode``, ``headers`` (one string per name), ``cookies`` (every
Set-Cookie, each sent by the service as its own header), ``body`` and ``isBase64Encoded``. What
the rules are and why: docs/sources/apigateway_v2.md. Headers are checked, the body encoded and an
oversized body gzipped exactly as in the ALB codec (its rules 10-13), by the functions every
source shares (sources/rendering.py).
"""

from __future__ import annotations

from ..rendering import (
    checked_status,
    encode_body,
    group_headers,
    gzip_to_fit,
    oversize,
    sent_body,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Request, Response
    from ..rendering import Grouped

# Lambda's limit on a synchronous invocation's response, the whole JSON (6 MB). HTTP APIs take
# 10 MB, but Lambda's limit comes first; Function URLs in BUFFERED mode have the same 6 MB.
PAYLOAD_V2_MAX_JSON_BYTES = 6_291_456


def render_response(response: Response, request: Request, config: Config) -> dict[str, object]:
    """Turn a Response into the payload 2.0 answer.

    Always with ``statusCode``: without it the service would take the whole dict for a JSON body
    and answer 200. Repeated headers are joined with commas (the service's own way, on requests
    too); every Set-Cookie goes to ``cookies`` and none to ``headers``, where only one could be
    sent. The reason phrase is not sent: the format has no field for it.

    Raises AppError for a response no service may receive (bad status, a header that is not a
    string or holds CR/LF/NUL) and ResponseTooLarge when the JSON is over the limit even gzipped.
    """
    status = checked_status(response.status)
    grouped, header_bytes = group_headers(response.headers)
    body = sent_body(response, request)
    text, is_base64 = encode_body(body, grouped, config)
    result = _render(status, grouped, text, is_base64)

    limit = config.max_response_bytes or PAYLOAD_V2_MAX_JSON_BYTES
    # The cookies are among the headers the size bound counts.
    size = oversize(result, limit, header_bytes, body, text, is_base64)
    if size:

        def gzipped(headers: Grouped, gzip_text: str) -> dict[str, object]:
            return _render(status, headers, gzip_text, True)

        result = gzip_to_fit(size, limit, grouped, body, request, gzipped)
    return result


def _render(status: int, grouped: Grouped, text: str, is_base64: bool) -> dict[str, object]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, values in grouped.items():
        if name == "set-cookie":
            cookies = values
        else:
            headers[name] = ",".join(values)
    return {
        "statusCode": status,
        "headers": headers,
        "cookies": cookies,
        "isBase64Encoded": is_base64,
        "body": text,
    }
