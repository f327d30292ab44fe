"""Response -> the dict ALB accepts: the response side of the ALB codec, run on every invocation.

Each rule followed here is stated, with its evidence, in docs/alb-behaviour.md (rules 8-13).
"""

from __future__ import annotations

from ...errors import ResponseTooLarge
from ..rendering import (
    encode_body,
    group_headers,
    gzip_to_fit,
    header_line_size,
    is_dropped_response_header,
    json_size,
    oversize,
    sent_body,
    single_value_headers,
    status_description,
)
from .request import is_multi_value

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Request, Response
    from ..rendering import Grouped

# What other modules and the tests read here. The rules themselves (rules 8 and 10-13) are every
# source's, so they live in alb_adapter/sources/rendering.py.
__all__ = [
    "ALB_MAX_HEADER_BYTES",
    "ALB_MAX_JSON_BYTES",
    "group_headers",
    "header_line_size",
    "is_dropped_response_header",
    "json_size",
    "render_response",
]

ALB_MAX_JSON_BYTES = 1_000_000
ALB_MAX_HEADER_BYTES = 32 * 1024  # the whole response header block (docs/alb-behaviour.md, Limits)

# Several Set-Cookie in single-value mode (rule 11), in ALB's terms: the fix is on the target group.
_TOO_MANY_COOKIES = "%d Set-Cookie headers: at most 512 fit in single-value mode"
_ONLY_LAST_COOKIE = (
    "%d Set-Cookie headers in single-value mode: only the last is sent "
    "(multi_cookie='last'); enable lambda.multi_value_headers.enabled on the "
    "target group to send them all. Warned once."
)
_COOKIES_REFUSED = (
    "%d Set-Cookie headers cannot be sent in single-value mode "
    "(multi_cookie='error'); enable lambda.multi_value_headers.enabled on the "
    "target group, or choose multi_cookie='case-variants'"
)


def render_response(response: Response, request: Request, config: Config) -> dict[str, object]:
    """Turn a Response into the dict ALB expects (docs/alb-behaviour.md, rules 8-13).

    Raises AppError for a response no load balancer may receive (bad status, a header that is not
    a string or holds CR/LF/NUL, several cookies with ``multi_cookie="error"``) and
    ResponseTooLarge when it is over one of ALB's limits even gzipped.
    """
    status = response.status
    description = status_description(response)
    grouped, header_bytes = group_headers(response.headers)
    if header_bytes > ALB_MAX_HEADER_BYTES:
        raise ResponseTooLarge(
            header_bytes, ALB_MAX_HEADER_BYTES, "ALB's limit on headers", "response headers"
        )
    body = sent_body(response, request)
    text, is_base64 = encode_body(body, grouped, config)
    multi_value = is_multi_value(request.event)
    result = _render(status, description, grouped, text, is_base64, multi_value, config)

    limit = config.max_response_bytes or ALB_MAX_JSON_BYTES
    size = oversize(result, limit, header_bytes, body, text, is_base64)
    if size:

        def gzipped(headers: Grouped, gzip_text: str) -> dict[str, object]:
            return _render(status, description, headers, gzip_text, True, multi_value, config)

        result = gzip_to_fit(size, limit, grouped, body, request, gzipped)
    return result


def _render(
    status: int,
    description: str,
    grouped: Grouped,
    text: str,
    is_base64: bool,
    multi_value: bool,
    config: Config,
) -> dict[str, object]:
    """The response dict, with exactly one header field: the one the event's mode asks for."""
    result: dict[str, object] = {
        "statusCode": status,
        "statusDescription": description,
        "isBase64Encoded": is_base64,
    }
    if multi_value:
        result["multiValueHeaders"] = grouped
    else:
        result["headers"] = single_value_headers(
            grouped,
            config,
            too_many=_TOO_MANY_COOKIES,
            only_last=_ONLY_LAST_COOKIE,
            refused=_COOKIES_REFUSED,
        )
    result["body"] = text
    return result
