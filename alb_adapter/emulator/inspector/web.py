"""The inspector's web side: a plain ASGI app (no framework: the ``local`` extra has none) served
by the local ALB's own uvicorn server on a second, loopback-only socket (``ALBEmulator`` sends it
the requests that arrive there).

- ``GET /`` and ``/static/*``: the page (``static/``: HTML, CSS, one script; nothing from the
  network);
- ``GET /api/exchanges?after=VERSION``: the rows changed since the page last asked, and the ids
  still kept (the page polls it every second: see ``record.py`` for why not server-sent events);
- ``GET /api/exchanges/ID``: everything about one request; secret header values masked unless
  ``?reveal=1``;
- ``POST /api/replay``: a request sent again, as it was or edited, through the local ALB's own
  ASGI app in this process (the path a real request takes), recorded as a new row;
- ``GET /api/har``: the session as HAR 1.2 (masked unless ``?reveal=1``);
- ``GET /api/rules``, ``GET /api/health``: the listener's rules and the health checker's view;
- ``POST /api/clear``: forget every request kept.

The page shows secrets and can send requests, so the app answers only requests whose Host is a
loopback name (a DNS-rebinding page cannot reach it), and its POSTs must be JSON (a form on
another site cannot send one without the browser asking first, which this app never allows).
"""

from __future__ import annotations

import base64
import gzip
import json
import shlex
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from ..invocation import MAX_REQUEST_BODY_BYTES
from ..rules import describe_action
from .har import har, is_text_type
from .record import is_secret_header, mask, masked_header_map, masked_headers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from ..app import ALBEmulator
    from .record import Exchange, Recorder

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/inspector.css": ("inspector.css", "text/css; charset=utf-8"),
    "/static/inspector.js": ("inspector.js", "text/javascript; charset=utf-8"),
}
# What the page shows of a body; the rest is said, not shown.
PREVIEW_BYTES = 64 * 1024
HEX_PREVIEW_BYTES = 512
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        b"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (an address to bind, or a Host header's name) is this machine's own."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    return name in ("localhost", "::1") or name.startswith("127.")


class InspectorApp:
    """The inspector's ASGI app for ``emulator`` and its ``recorder`` (module docstring)."""

    def __init__(self, emulator: ALBEmulator, recorder: Recorder) -> None:
        self.emulator = emulator
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        reveal = query.get("reveal", ["0"])[-1] == "1"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if not is_loopback_host(headers.get("host", "")):
                raise HTTPProblem(403, "the inspector answers to 127.0.0.1 or localhost only")
            if method == "POST":
                if headers.get("content-type", "").partition(";")[0].strip() != "application/json":
                    raise HTTPProblem(415, "send JSON (content-type: application/json)")
                payload = await _read_json(receive)
                if path == "/api/replay":
                    answer: object = await self.replay(payload)
                elif path == "/api/clear":
                    self.recorder.clear()
                    answer = {"cleared": True}
                else:
                    raise HTTPProblem(404, f"no such API: POST {path}")
                await _send_json(send, answer)
                return
            if method != "GET":
                raise HTTPProblem(405, f"{method} is not served here")
            if path in STATIC_FILES:
                name, content_type = STATIC_FILES[path]
                await _send(send, 200, (STATIC / name).read_bytes(), content_type)
            elif path == "/api/exchanges":
                after = _integer(query.get("after", ["0"])[-1], "after")
                await _send_json(send, self.changes(after))
            elif path.startswith("/api/exchanges/"):
                exchange = self._exchange(path.removeprefix("/api/exchanges/"))
                await _send_json(send, self.detail(exchange, reveal=reveal))
            elif path == "/api/har":
                document = json.dumps(har(self.recorder.exchanges, reveal=reveal), indent=1)
                name = "local-alb-revealed.har" if reveal else "local-alb.har"
                extra = [(b"content-disposition", f'attachment; filename="{name}"'.encode())]
                await _send(send, 200, document.encode(), "application/json", extra)
            elif path == "/api/rules":
                await _send_json(send, self.rules())
            elif path == "/api/health":
                await _send_json(send, self.health())
            else:
                raise HTTPProblem(404, f"nothing at {path}")
        except HTTPProblem as problem:
            await _send_json(send, {"error": str(problem)}, status=problem.status)

    def _exchange(self, text: str) -> Exchange:
        exchange = self.recorder.get(_integer(text, "id"))
        if exchange is None:
            raise HTTPProblem(404, f"request #{text} is not kept any more (or never was)")
        return exchange

    # -- the list and one request ----------------------------------------------------------

    def changes(self, after: int) -> dict[str, Any]:
        return {
            "version": self.recorder.version,
            "keep": self.recorder.keep,
            "ids": [exchange.id for exchange in self.recorder.exchanges],
            "rows": [summary(exchange) for exchange in self.recorder.changed_since(after)],
        }

    def detail(self, exchange: Exchange, *, reveal: bool) -> dict[str, Any]:
        event = exchange.event
        if isinstance(event, dict):
            event = {
                key: masked_header_map(value, reveal=reveal)
                if key in ("headers", "multiValueHeaders")
                else value
                for key, value in event.items()
            }
        answer = exchange.answer
        if isinstance(answer, dict):
            answer = {
                key: masked_header_map(value, reveal=reveal)
                if key in ("headers", "multiValueHeaders")
                else value
                for key, value in answer.items()
            }
        return {
            **summary(exchange),
            "revealed": reveal,
            "client": list(exchange.client),
            "request": {
                "headers": masked_headers(exchange.request_headers, reveal=reveal),
                "body": preview(
                    exchange.request_body,
                    exchange.request_size,
                    _header(exchange.request_headers, "content-type"),
                ),
            },
            "listener": {
                "refusal": exchange.refusal,
                "trace": [
                    {"priority": v.priority, "matched": v.matched, "reason": v.reason}
                    for v in exchange.trace or []
                ],
                "rule": exchange.rule,
                "action": exchange.action,
                "target": exchange.target_name,
            },
            "event": event,
            "event_truncated": exchange.event_truncated,
            "answer": answer,
            "answer_truncated": exchange.answer_truncated,
            "judgement": {
                "status": exchange.status,
                "reason": exchange.reason,
                "notes": exchange.notes,
            },
            "response": {
                "status": exchange.status,
                "headers": masked_headers(exchange.response_headers, reveal=reveal),
                "body": preview(
                    exchange.response_body,
                    exchange.response_size,
                    _header(exchange.response_headers, "content-type"),
                    _header(exchange.response_headers, "content-encoding"),
                ),
            },
            "logs": exchange.logs,
            "logs_dropped": exchange.logs_dropped,
            "invoke_command": self.invoke_command(exchange, event),
        }

    def invoke_command(self, exchange: Exchange, event: object) -> str | None:
        """A shell command that sends ``event`` to the same function with ``alb-adapter invoke``
        (from the target's task root, with its timeout and the server's base path), or None
        when no event was sent or the inspector kept only part of it."""
        if not isinstance(event, dict) or exchange.event_truncated or not exchange.target_name:
            return None
        target = self.emulator.config.targets.get(exchange.target_name)
        if target is None or target.handler is None:
            return None
        command = ["alb-adapter", "invoke", target.handler, "--event", "-"]
        if target.timeout != 30.0:
            command += ["--timeout", f"{target.timeout:g}"]
        base_path = self.emulator.handler_options.get("base_path")
        if base_path:
            command += ["--base-path", str(base_path)]
        line = f"printf '%s' {shlex.quote(json.dumps(event))} | {shlex.join(command)}"
        if target.task_root:
            line = f"cd {shlex.quote(target.task_root)} && {line}"
        return line

    # -- replay ------------------------------------------------------------------------------

    async def replay(self, payload: object) -> dict[str, Any]:
        """Send a kept request again through the local ALB (``payload``: ``id``, and optionally
        ``method``, ``target``, ``headers`` as [name, value] pairs, ``body`` as text or
        ``body_base64``); answers the new row's id and status. A masked value sent back as it
        was shown stands for the original value."""
        if not isinstance(payload, dict):
            raise HTTPProblem(400, "send a JSON object")
        original = self._exchange(str(payload.get("id", "")))
        method = str(payload.get("method") or original.method).upper()
        target = str(payload.get("target") or original.target)
        if not target.startswith("/"):
            raise HTTPProblem(400, "the request target must start with /")
        headers = _replay_headers(payload.get("headers"), original)
        if payload.get("body_base64") is not None:
            try:
                body = base64.b64decode(str(payload["body_base64"]), validate=True)
            except ValueError:
                raise HTTPProblem(400, "body_base64 is not base64") from None
        elif payload.get("body") is not None:
            body = str(payload["body"]).encode("utf-8")
        else:
            if len(original.request_body) < original.request_size:
                raise HTTPProblem(
                    409,
                    f"the inspector kept {len(original.request_body):,} of the body's "
                    f"{original.request_size:,} bytes: send the body to replay it",
                )
            body = original.request_body
        if len(body) > MAX_REQUEST_BODY_BYTES:
            raise HTTPProblem(413, "the body is over ALB's 1 MB limit")
        # The body is sent whole: its own length, never the original's framing.
        headers = [
            (name, value)
            for name, value in headers
            if name.lower() not in ("content-length", "transfer-encoding")
        ]
        if body or method in ("POST", "PUT", "PATCH"):
            headers.append(("content-length", str(len(body))))
        raw_path, _, query = target.partition("?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("latin-1", "replace"),
            "query_string": query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [(n.lower().encode("latin-1"), _wire(v)) for n, v in headers],
            "client": (original.client[0], 0),
            "server": original.server,
            "extensions": {"alb_adapter.replay_of": original.id},
        }
        sent = False
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def respond(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.emulator(scope, receive, respond)
        replays = [e.id for e in self.recorder.exchanges if e.replay_of == original.id]
        return {"id": replays[-1] if replays else None, "status": status[0] if status else None}

    # -- the listener and its targets --------------------------------------------------------

    def rules(self) -> dict[str, Any]:
        config = self.emulator.config
        return {
            "source": config.source,
            "rules": [
                {
                    "priority": rule.priority,
                    "conditions": [condition.describe() for condition in rule.conditions],
                    "authenticate": None if rule.authenticate is None else rule.authenticate.kind,
                    "action": describe_action(rule.action),
                }
                for rule in config.rules
            ],
            "default": describe_action(config.default_action),
            "targets": [
                {
                    "name": target.name,
                    "kind": "lambda" if target.handler is not None else "http",
                    "where": target.handler or target.url,
                    "environments": target.environments or self.emulator.environments
                    if target.handler is not None
                    else None,
                    "multi_value_headers": target.multi_value_headers,
                    "timeout": target.timeout,
                }
                for target in config.targets.values()
            ],
        }

    def health(self) -> dict[str, Any]:
        checked = self.emulator.health.health
        rows = []
        for name, target in self.emulator.config.targets.items():
            state = checked.get(name)
            row: dict[str, Any] = {
                "name": name,
                "checked": state is not None,
                "path": target.health_check.path if state is not None else None,
                "state": state.state if state is not None else "not checked",
                "successes": state.successes if state is not None else 0,
                "failures": state.failures if state is not None else 0,
                "last_status": state.last_status if state is not None else None,
                "last_detail": state.last_detail if state is not None else "",
                "last_checked": state.last_checked if state is not None else None,
                "broken": self.emulator.broken.get(name),
            }
            rows.append(row)
        return {"targets": rows}


def summary(exchange: Exchange) -> dict[str, Any]:
    """One row of the list."""
    return {
        "id": exchange.id,
        "time": exchange.started,
        "method": exchange.method,
        "target": exchange.target,
        "status": exchange.status,
        "reason": exchange.reason,
        "rule": exchange.rule,
        "action": exchange.action,
        "target_name": exchange.target_name,
        "duration_ms": None if exchange.duration_ms is None else round(exchange.duration_ms, 2),
        "cold_start": exchange.cold_start,
        "environment": exchange.environment,
        "replay_of": exchange.replay_of,
    }


def preview(
    data: bytes, size: int, content_type: str = "", content_encoding: str = ""
) -> dict[str, Any]:
    """How the page shows a body of ``size`` bytes of which ``data`` were kept: text (the page
    puts it in the document as text, never as markup), or, for bytes that are not UTF-8 text,
    the size and a hex dump of the start; either cut at ``PREVIEW_BYTES`` with a note. A gzip
    or deflate body kept whole is shown decompressed, and says so."""
    notes = []
    if len(data) < size:
        notes.append(f"the inspector kept the first {len(data):,} of {size:,} bytes")
    encoding = content_encoding.strip().lower()
    if encoding in ("gzip", "deflate") and data and len(data) == size:
        try:
            data = gzip.decompress(data) if encoding == "gzip" else zlib.decompress(data)
        except (OSError, EOFError, zlib.error):
            notes.append(f"content-encoding {encoding}, but the body does not decompress")
        else:
            notes.append(f"content-encoding {encoding}: shown decompressed ({len(data):,} bytes)")
    if not data:
        return {"size": size, "kind": "empty", "notes": notes}
    shown = data[:PREVIEW_BYTES]
    text = _as_text(shown, content_type)
    if len(data) > len(shown):
        notes.append(f"showing the first {len(shown):,} bytes")
    if text is not None:
        return {"size": size, "kind": "text", "text": text, "notes": notes}
    head = data[:HEX_PREVIEW_BYTES]
    if len(data) > len(head):
        notes.append(f"binary: a hex dump of the first {len(head)} bytes")
    return {
        "size": size,
        "kind": "binary",
        "hex": hex_dump(head),
        "base64": base64.b64encode(head).decode("ascii"),
        "notes": notes,
    }


def _as_text(data: bytes, content_type: str) -> str | None:
    """``data`` as UTF-8 text (a character cut at the end forgiven), or None for binary."""
    for cut in range(4):
        try:
            text = data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\r\n\f")
        if controls and not is_text_type(content_type):
            return None
        return text
    return None


def hex_dump(data: bytes) -> str:
    """``00000000  89 50 4e 47 ...  |.PNG....|``, 16 bytes a line."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{byte:02x}" for byte in chunk)
        chars = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{chars}|")
    return "\n".join(lines)


def _header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def _replay_headers(given: object, original: Exchange) -> list[tuple[str, str]]:
    if given is None:
        return list(original.request_headers)
    if not isinstance(given, list) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 for pair in given
    ):
        raise HTTPProblem(400, "headers must be a list of [name, value] pairs")
    secrets: dict[tuple[str, str], str] = {
        (name.lower(), mask(value)): value
        for name, value in original.request_headers
        if is_secret_header(name)
    }
    headers = []
    for name, value in given:
        text_name, text_value = str(name).strip(), str(value)
        if not text_name:
            continue
        headers.append((text_name, secrets.get((text_name.lower(), text_value), text_value)))
    return headers


def _wire(value: str) -> bytes:
    """A header value back to bytes: the client's own (kept as latin-1), or typed text."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _integer(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise HTTPProblem(400, f"{what} must be a number")
    return int(text)


async def _read_json(receive: Receive) -> object:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > 2 * MAX_REQUEST_BODY_BYTES:
            raise HTTPProblem(413, "too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    try:
        return json.loads(b"".join(chunks) or b"null")
    except ValueError:
        raise HTTPProblem(400, "the body is not JSON") from None


async def _send_json(send: Send, value: object, status: int = 200) -> None:
    await _send(send, status, json.dumps(value).encode(), "application/json")


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
