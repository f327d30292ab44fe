"""The ``x-amzn-oidc-data`` token's wire format, read strictly with the standard library.

ALB's token looks like a JWS in compact form (``header.payload.signature``) with one difference
that breaks strict JWT libraries: each segment is base64url *with* its ``=`` padding, and the
signature covers the padded text. So the segments are checked and decoded here, and the signature
is verified over the first two segments exactly as received (``signing_input``): removing the
padding before verifying would change the signed text and fail every genuine token.

Both spellings of a segment are accepted, padded (what ALB sends) and unpadded (standard JWS):
each is a strict, canonical base64url encoding, and whichever was signed is what is verified, so
accepting both widens nothing. What is refused: characters outside base64url, padding that is not
exactly what the segment's length needs, and encodings that are not canonical (non-zero unused
bits), because "the same token, spelled differently" has no legitimate use and is how lenient
decoders have been tricked.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from .errors import MalformedToken

# Far above what ALB sends: it refuses user claims plus access token over 11 KB (answering 500),
# and base64 makes that about 15 KB. A cap keeps a forged header from costing more than a glance.
MAX_TOKEN_LENGTH = 32 * 1024

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def encode_segment(data: bytes, *, padded: bool = True) -> str:
    """base64url of ``data``, with ``=`` padding as ALB writes it (or without, as JWS does)."""
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if padded else text.rstrip("=")


def decode_segment(segment: str, part: str) -> bytes:
    """The bytes of one segment, padded or not; MalformedToken unless it is canonical base64url.

    ``part`` names the segment in the error ("header", "payload", "signature").
    """
    if not _SEGMENT.fullmatch(segment):
        raise MalformedToken(f"the token's {part} is not base64url")
    unpadded = segment.rstrip("=")
    needed = -len(unpadded) % 4
    if needed == 3 or (segment != unpadded and len(segment) - len(unpadded) != needed):
        raise MalformedToken(f"the token's {part} has the wrong length or padding")
    try:
        data = base64.urlsafe_b64decode(unpadded + "=" * needed)
    except binascii.Error:  # pragma: no cover - the checks above leave nothing for it to refuse
        raise MalformedToken(f"the token's {part} is not base64url") from None
    if encode_segment(data, padded=False) != unpadded:
        raise MalformedToken(f"the token's {part} is not canonical base64url")
    return data


def split_token(token: str) -> tuple[str, str, str]:
    """The three segments of a compact token; MalformedToken for anything else."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken(f"the token is over {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("the token is not three dot-separated segments")
    header, payload, signature = parts
    return header, payload, signature


def decode_json_object(segment: str, part: str) -> dict[str, Any]:
    """The JSON object a segment encodes; MalformedToken if it is not one, is not UTF-8, has a
    duplicate name (which parsers resolve differently) or a NaN/Infinity (which would make
    ``exp`` compare false with every time, so never expire)."""
    data = decode_segment(segment, part)
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_refuse_duplicate_names,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedToken(
            f"the token's {part} is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)"
        ) from None
    if not isinstance(value, dict):
        raise MalformedToken(f"the token's {part} is not a JSON object")
    return value


def read_number(header: dict[str, Any], name: str) -> float:
    """A required, finite numeric header field (``exp``); MalformedToken otherwise."""
    value = header.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedToken(f"the token's header has no numeric {name!r}")
    return value


def read_text(fields: dict[str, Any], name: str, part: str) -> str | None:
    """An optional string field: None when absent, MalformedToken when it is not a string."""
    value = fields.get(name)
    if value is None and name not in fields:
        return None
    if not isinstance(value, str):
        raise MalformedToken(f"the token's {part} field {name!r} is not a string")
    return value


def _refuse_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate name")
    return result


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")
