"""Response -> the dict VPC Lattice accepts: the response side of the Lattice codec, for both event
structures (the answer's format is the same for V1 and V2).

Lattice takes the five fields of an ALB answer in single-value mode: ``statusCode``,
``statusDescription``, ``headers`` (one string per name), ``body`` and ``isBase64Encoded``. So the
rules of ALB's codec apply as they are (docs/alb-behaviour.md, rules 8-13), written once for every
source in sources/rendering.py; only the size limit and the wording of errors are Lattice's own.
The choices made where Lattice's behaviour is unconfirmed (several Set-Cookie headers above all)
are in docs/sources/lattice.md.
"""

from __future__ import annotations

from ..rendering import (
    encode_body,
    group_headers,
    gzip_to_fit,
    oversize,
    sent_body,
    single_value_headers,
    status_description,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Request, Response
    from ..rendering import Grouped

# Lattice's limit on the response JSON, which is Lambda's own for synchronous invocations: 6 MB,
# counted as Lambda counts it (6 MiB).
LATTICE_MAX_JSON_BYTES = 6_291_456
# Several Set-Cookie headers in ``headers``, one string per name: with the default
# multi_cookie="case-variants" they go under distinct spellings of the name, which any proxy reading
# them as headers delivers as separate lines and at worst collapses to one cookie, where a
# comma-joined value would corrupt them all (docs/sources/lattice.md). What is said about them:
_TOO_MANY_COOKIES = "%d Set-Cookie headers: at most 512 fit in the headers VPC Lattice accepts"
_ONLY_LAST_COOKIE = (
    "%d Set-Cookie headers: only the last is sent through VPC Lattice "
    "(multi_cookie='last'); multi_cookie='case-variants' sends them all. "
    "Warned once."
)
_COOKIES_REFUSED = (
    "%d Set-Cookie headers cannot be sent in VPC Lattice's one-string-"
    "per-name headers (multi_cookie='error'); choose multi_cookie='case-variants'"
)


def render_response(response: Response, request: Request, config: Config) -> dict[str, object]:
    """Turn a Response into the dict Lattice expects, for a V1 or a V2 request alike.

    Raises AppError for a response no proxy may receive (bad status, a header that is not a
    string or holds CR/LF/NUL, several cookies with ``multi_cookie="error"``) and
    ResponseTooLarge when the JSON is over the limit even gzipped.
    """
    status = response.status
    description = status_description(response)
    grouped, header_bytes = group_headers(response.headers)
    body = sent_body(response, request)
    text, is_base64 = encode_body(body, grouped, config)
    result = _render(status, description, grouped, text, is_base64, config)

    limit = config.max_response_bytes or LATTICE_MAX_JSON_BYTES
    size = oversize(result, limit, header_bytes, body, text, is_base64)
    if size:

        def gzipped(headers: Grouped, gzip_text: str) -> dict[str, object]:
            return _render(status, description, headers, gzip_text, True, config)

        result = gzip_to_fit(size, limit, grouped, body, request, gzipped)
    return result


def _render(
    status: int, description: str, grouped: Grouped, text: str, is_base64: bool, config: Config
) -> dict[str, object]:
    """The answer: exactly the five fields Lattice reads, never null."""
    return {
        "statusCode": status,
        "statusDescription": description,
        "isBase64Encoded": is_base64,
        "headers": single_value_headers(
            grouped,
            config,
            too_many=_TOO_MANY_COOKIES,
            only_last=_ONLY_LAST_COOKIE,
            refused=_COOKIES_REFUSED,
        ),
        "body": text,
    }
