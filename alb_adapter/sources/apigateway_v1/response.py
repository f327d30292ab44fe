"""Response -> the payload 1.0 answer: the response side of API Gateway REST APIs and of HTTP APIs
using payload format 1.0, run on every invocation.

Both take the same five keys and nothing else: ``statusCode``, ``headers``, ``multiValueHeaders``,
``body``, ``isBase64Encoded`` (a REST API answers 502 to any other key, ``cookies`` and
``statusDescription`` included). Every header goes in ``multiValueHeaders``, so each Set-Cookie
is sent. Headers are checked and the body encoded exactly as in the ALB codec, by the functions
every source shares (sources/rendering.py). Why: docs/sources/apigateway_v1.md.
"""

from __future__ import annotations

from ...errors import ResponseTooLarge
from ..rendering import checked_status, encode_body, group_headers, oversize, sent_body

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Request, Response

# Lambda's limit on a synchronous invocation's response, the whole JSON (6 MB). API Gateway takes
# 10 MB, but Lambda's limit comes first.
APIGW_V1_MAX_JSON_BYTES = 6_291_456


def render_response(response: Response, request: Request, config: Config) -> dict[str, object]:
    """Turn a Response into the payload 1.0 answer.

    Every header goes in ``multiValueHeaders`` as a list, Set-Cookie included: nothing in
    ``headers``, which holds one value per name, so how the services merge a name given in both
    (unconfirmed beyond "``multiValueHeaders`` wins") never matters. ``statusCode`` is always
    sent and no other key, since what an HTTP API does with an answer lacking it or carrying
    more is unconfirmed. The reason phrase is not sent: the format has no field for it.

    Over the size limit there is no gzip fallback (as the ALB codec has): a REST API passes a
    base64 body to the client as bytes only when its binaryMediaTypes match, so a compressed
    answer could reach the client as base64 text.

    Raises AppError for a response no service may receive (bad status, a header that is not a
    string or holds CR/LF/NUL) and ResponseTooLarge when the JSON is over the limit.
    """
    status = checked_status(response.status)
    grouped, header_bytes = group_headers(response.headers)
    body = sent_body(response, request)
    text, is_base64 = encode_body(body, grouped, config)
    result: dict[str, object] = {
        "statusCode": status,
        "multiValueHeaders": grouped,
        "isBase64Encoded": is_base64,
        "body": text,
    }
    limit = config.max_response_bytes or APIGW_V1_MAX_JSON_BYTES
    size = oversize(result, limit, header_bytes, body, text, is_base64)
    if size:
        raise ResponseTooLarge(size, limit, "Lambda's limit on a synchronous response")
    return result
