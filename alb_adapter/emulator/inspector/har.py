"""The inspector's session as HAR 1.2 (the HTTP Archive format browsers' developer tools read
and write): one entry per exchange the inspector still holds, oldest first.

Secret header values are masked unless ``reveal`` is asked for, and the log's ``comment`` says
which; the cookies arrays are left empty for the same reason (the Cookie and Set-Cookie headers
carry them, masked or not). Bodies are what the inspector kept (``Recorder.body_bytes`` each);
a cut body is said so in the entry's comment. What ALB did is in each entry's ``_albAdapter``
object (HAR's custom fields start with an underscore).
"""

from __future__ import annotations

import base64
import http
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ... import __version__
from .record import masked_headers

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .record import Exchange

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "+json",
)


def is_text_type(content_type: str) -> bool:
    lowered = content_type.lower()
    return any(part in lowered for part in TEXT_TYPES) or lowered.endswith("+xml")


def har(exchanges: Iterable[Exchange], *, reveal: bool = False) -> dict[str, Any]:
    """The HAR document of ``exchanges`` (finished ones; a request still in flight is left out)."""
    entries = [_entry(exchange, reveal) for exchange in exchanges if exchange.status is not None]
    masked = "shown" if reveal else "masked"
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "alb-adapter inspector", "version": __version__},
            "entries": entries,
            "comment": f"The local ALB's requests; cookie and authorization values {masked}.",
        }
    }


def _header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def _pairs(headers: list[tuple[str, str]], reveal: bool) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in masked_headers(headers, reveal=reveal)]


def _entry(exchange: Exchange, reveal: bool) -> dict[str, Any]:
    request_headers = exchange.request_headers
    host = _header(request_headers, "host") or f"{exchange.server[0]}:{exchange.server[1]}"
    target = exchange.target if exchange.target.startswith("/") else urlsplit(exchange.target).path
    query = urlsplit(exchange.target).query
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": f"http://{host}{target}",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(request_headers, reveal),
        "queryString": [
            {"name": name, "value": value}
            for name, _, value in (item.partition("=") for item in query.split("&") if item)
        ],
        "headersSize": -1,
        "bodySize": exchange.request_size,
    }
    comments = []
    if exchange.request_body:
        mime = _header(request_headers, "content-type") or "application/octet-stream"
        text, encoded = _body_text(exchange.request_body, mime)
        request["postData"] = {"mimeType": mime, "text": text}
        if encoded:
            request["postData"]["comment"] = "base64"
        if len(exchange.request_body) < exchange.request_size:
            comments.append(f"request body cut to {len(exchange.request_body):,} bytes")
    status = exchange.status or 0
    mime = _header(exchange.response_headers, "content-type") or "application/octet-stream"
    text, encoded = _body_text(exchange.response_body, mime)
    content: dict[str, Any] = {"size": exchange.response_size, "mimeType": mime, "text": text}
    if encoded:
        content["encoding"] = "base64"
    if len(exchange.response_body) < exchange.response_size:
        comments.append(f"response body cut to {len(exchange.response_body):,} bytes")
    try:
        status_text = http.HTTPStatus(status).phrase
    except ValueError:
        status_text = ""
    duration = exchange.duration_ms or 0.0
    started = datetime.fromtimestamp(exchange.started, UTC)
    return {
        "startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": round(duration, 3),
        "request": request,
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(exchange.response_headers, reveal),
            "content": content,
            "redirectURL": _header(exchange.response_headers, "location"),
            "headersSize": -1,
            "bodySize": exchange.response_size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(duration, 3), "receive": 0},
        "comment": "; ".join(comments),
        "_albAdapter": {
            "id": exchange.id,
            "rule": exchange.rule,
            "action": exchange.action,
            "target": exchange.target_name,
            "reason": exchange.reason,
            "notes": exchange.notes,
            "coldStart": exchange.cold_start,
            "replayOf": exchange.replay_of,
        },
    }


def _body_text(body: bytes, mime: str) -> tuple[str, bool]:
    """The body as HAR text, and whether it is base64 (anything not UTF-8 text)."""
    if is_text_type(mime):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True
