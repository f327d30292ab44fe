"""The local ALB as an ASGI application (served by uvicorn, which hands over the raw path, the raw
query bytes and every duplicate header: what an ALB sees and a WSGI server would have merged).

Per request: front-door refusals, listener rules, then the action: a Lambda function (event built
and answer judged exactly as ALB does), an HTTP server proxied (the legacy app), a redirect or a
fixed response. One access-log line per request.

A Lambda target runs in one of two ways (``Target.environments``, else the emulator's
``environments``): ``"process"``, execution environments as worker processes behind the Lambda
Runtime API, as Lambda runs functions (``environments.EnvironmentPool``: what `alb-adapter serve`
uses); or ``"thread"``, the handler called in this process, one invocation at a time
(``LambdaTarget``: fast, and what the tests of the emulator itself use).

With a ``recorder`` (``inspector/record.py``), each request is also recorded for the inspector:
the listener's evaluation, the event, the function's raw answer and ALB's notes on it, its log
lines. Without one the per-request path checks ``exchange is not None`` at each of those points
and does nothing else (docs/emulator.md, "The inspector", gives the measured cost of recording).
The inspector's page is served by this same app on a second socket (``inspector_address``): a
request is the inspector's when it arrived on that socket, never on the listener's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ..model import header_text
from ..sources.alb.balancer import build_health_check_event
from .environments import (
    SHUTDOWN_GRACE_SECONDS,
    EnvironmentPool,
    RuntimeClient,
    close_pools,
    close_pools_async,
)
from .health import HealthChecker
from .invocation import (
    ALB_SERVER,
    HOP_BY_HOP,
    MAX_REQUEST_BODY_BYTES,
    Outcome,
    alb_error,
    event_or_error,
    invoke,
    is_websocket_upgrade,
    judge,
    judgement_notes,
    lambda_refusal,
    listener_refusal,
    response_head,
)
from .loader import load_target
from .rules import (
    EnvironmentsMode,
    FixedResponse,
    Forward,
    ListenerConfig,
    Redirect,
    RuleRequest,
    Target,
    describe_action,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from .auth import LocalSignIn
    from .inspector.record import Exchange, Recorder

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("alb_adapter.emulator")
access_log = logging.getLogger("alb_adapter.emulator.access")

# Headers ALB sets itself on the way to a target (it appends to X-Forwarded-For).
SET_BY_ALB = frozenset({"x-forwarded-proto", "x-forwarded-port", "content-length"})


class LambdaTarget:
    """One target group with one Lambda function run in this process (``environments =
    "thread"``): one execution environment, so one invocation at a time, run in a worker thread,
    the emulator waiting no longer than the function's timeout (a thread cannot be killed: a
    handler still running then goes on in the background)."""

    def __init__(self, target: Target, handler: Any) -> None:
        self.target = target
        self.handler = handler
        self.lock = asyncio.Lock()
        self.invoked = False  # its first invocation after load is its cold start

    async def invoke(self, event: dict[str, object], exchange: Exchange | None = None) -> Outcome:
        """One invocation; with ``exchange``, recorded there (cold start, raw answer, ALB's
        notes, and the log lines and output of the handler's thread)."""
        target = self.target
        async with self.lock:
            judge_answer = None
            if exchange is not None:
                exchange.cold_start = not self.invoked
                exchange.environment = "in-process (thread)"
                judge_answer = _recording_judge(exchange, target.multi_value_headers)
            self.invoked = True
            try:
                call = asyncio.to_thread(
                    invoke,
                    self.handler,
                    event,
                    multi_value_headers=target.multi_value_headers,
                    timeout=target.timeout,
                    function_name=target.name,
                    judge_answer=judge_answer,
                )
                # A little slack: the thread reports an overrun itself when it can.
                wait = target.timeout + 1.0
                if exchange is None:
                    return await asyncio.wait_for(call, timeout=wait)
                from .inspector.record import capturing

                with capturing(exchange):  # the thread to_thread starts inherits the context
                    return await asyncio.wait_for(call, timeout=wait)
            except TimeoutError:
                return alb_error(
                    502, f"the function did not answer within its {target.timeout:g} s timeout"
                )

    def close(self) -> None:
        close = getattr(self.handler, "close", None)
        if callable(close):
            close()


class ALBEmulator:
    """The ASGI app that plays ALB for ``config``; targets load during its lifespan startup.

    ``environments`` is how Lambda targets that do not say run (the module docstring);
    ``runtime_client`` the runtime of process environments (``"auto"``: ``awslambdaric`` when it
    is installed, else the built-in one); ``shutdown_grace`` the seconds between SIGTERM and
    SIGKILL when they are stopped.
    """

    def __init__(
        self,
        config: ListenerConfig,
        *,
        handler_options: dict[str, Any] | None = None,
        environments: EnvironmentsMode = "thread",
        runtime_client: RuntimeClient = "auto",
        shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
        keep_serving_broken_targets: bool = False,
        recorder: Recorder | None = None,
    ):
        self.config = config
        # The inspector's store (inspector/record.py), its ASGI app (inspector/web.py, attached
        # by server.build_server), and the socket address it is served on (set by whoever binds
        # that socket: server.bind_inspector).
        self.recorder = recorder
        self.inspector: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None
        self.inspector_address: tuple[str, int] | None = None
        # serve --reload: a function that fails to load (a syntax error being fixed) answers an
        # explained 502 until the next reload, instead of the server failing to start and
        # leaving requests hanging on the listening socket.
        self.keep_serving_broken_targets = keep_serving_broken_targets
        self.broken: dict[str, str] = {}  # target -> why it failed to load
        self.handler_options = handler_options or {}
        self.environments: EnvironmentsMode = environments
        self.runtime_client: RuntimeClient = runtime_client
        self.shutdown_grace = shutdown_grace
        self.lambdas: dict[str, LambdaTarget] = {}  # targets run in this process
        self.pools: dict[str, EnvironmentPool] = {}  # targets run in worker processes
        self.http: httpx.AsyncClient | None = None
        self.health = HealthChecker()
        # The sign-in of authenticate actions (emulator/auth.py), when any rule has one: made
        # here, so that its key is published before the first target loads.
        self.sign_in: LocalSignIn | None = None
        if any(rule.authenticate is not None for rule in config.rules):
            from .auth import LocalSignIn

            self.sign_in = LocalSignIn()

    # ------------------------------------------------------------------ lifecycle

    def load(self) -> None:
        """Import every Lambda target now (in-process), or start its first environment and wait
        for its init (processes), so that a broken one fails at start, not at first request
        (with ``keep_serving_broken_targets``, it is logged and answers 502 instead)."""
        if self.sign_in is not None:
            self.sign_in.publish_key()  # before the targets: they read it at import
        try:
            for name, target in self.config.targets.items():
                if target.handler is None or name in self.lambdas or name in self.pools:
                    continue
                try:
                    self._load_one(name, target)
                except Exception as exc:
                    if not self.keep_serving_broken_targets:
                        raise
                    self.broken[name] = f"{type(exc).__name__}: {exc}"
                    log.error(
                        "target %s failed to load; it answers 502 until the next reload: %s",
                        name,
                        self.broken[name],
                    )
        except BaseException:
            self.close_environments()  # no process outlives a failed start
            raise

    def _load_one(self, name: str, target: Target) -> None:
        assert target.handler is not None  # load() passes Lambda targets only
        if (target.environments or self.environments) == "process":
            pool = EnvironmentPool(
                target,
                handler_options=self.handler_options,
                runtime_client=self.runtime_client,
                shutdown_grace=self.shutdown_grace,
                recording=self.recorder is not None,
            )
            pool.start()
            self.pools[name] = pool
        else:
            handler = load_target(target.handler, **self.handler_options)
            self.lambdas[name] = LambdaTarget(target, handler)

    def unload(self) -> None:
        """Close and forget every Lambda target loaded so far (they can be loaded again); the
        environments of process targets are stopped (SIGTERM, then SIGKILL after the grace)."""
        for target in self.lambdas.values():
            target.close()
        self.lambdas.clear()
        self.close_environments()
        if self.sign_in is not None:
            self.sign_in.withdraw_key()

    def function(self, name: str) -> LambdaTarget | EnvironmentPool | None:
        """The loaded Lambda function of target ``name`` (either kind), or None."""
        return self.lambdas.get(name) or self.pools.get(name)

    def close_environments(self) -> None:
        """Stop the worker processes of every process target, all within one grace period."""
        pools = list(self.pools.values())
        self.pools.clear()
        close_pools(pools)

    async def startup(self) -> None:
        # In a worker thread: an ASGIHandler runs its app's lifespan on its own loop, which cannot
        # run in a thread whose loop (uvicorn's) is already running.
        await asyncio.to_thread(self.load)
        if self.recorder is not None:
            self.recorder.start_capture()
        # Per-request timeouts come from each target's own setting.
        self.http = httpx.AsyncClient(follow_redirects=False, timeout=None)  # noqa: S113
        for target in self.config.targets.values():
            if target.health_check.enabled:
                self.health.start(target, self._health_probe(target))

    async def shutdown(self) -> None:
        await self.health.stop()
        if self.http is not None:
            await self.http.aclose()
        for target in self.lambdas.values():
            # An ASGIHandler runs its app's lifespan shutdown on its own loop: not on this one.
            await asyncio.to_thread(target.close)
        pools = list(self.pools.values())
        self.pools.clear()
        await close_pools_async(pools)
        if self.sign_in is not None:
            self.sign_in.withdraw_key()
        if self.recorder is not None:
            self.recorder.stop_capture()

    @property
    def inspector_url(self) -> str | None:
        """The inspector's page, once its socket is bound."""
        if self.inspector_address is None:
            return None
        host, port = self.inspector_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if self.inspector is not None and _arrived_on(scope, self.inspector_address):
                await self.inspector(scope, receive, send)
            else:
                await self._http(scope, receive, send)
        else:  # a WebSocket handshake reaching us (uvicorn's ws enabled): ALB refuses it
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 (uvicorn reports it and exits)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------ one request

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One request the way ALB takes it: its own refusals (``listener_refusal``), the rules,
        then the action; a WebSocket upgrade is refused (``lambda_refusal``) only once the rules
        chose a Lambda target, since an HTTP target gets it."""
        began = time.perf_counter()
        # Latin-1: one character per byte, so the listener rules and a proxied target work on the
        # bytes the client sent; a Lambda event gets them decoded as UTF-8 (event_or_error).
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        body, too_big = await _read_body(receive)
        method: str = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.partition("?")[0] or "/"
        query = scope["query_string"].decode("latin-1")
        request_target = raw_path + (f"?{query}" if query else "")  # as sent, for the log
        raw_path, headers = _origin_form(raw_path, headers)
        client = scope.get("client") or ("127.0.0.1", 0)
        server = scope.get("server") or ("127.0.0.1", 80)
        request = RuleRequest.from_http(
            method,
            raw_path,
            query,
            headers,
            source_ip=client[0],
            scheme=scope.get("scheme", "http"),
            port=server[1] or 80,
        )
        body_size = MAX_REQUEST_BODY_BYTES + 1 if too_big else len(body)
        exchange = None
        if self.recorder is not None:
            exchange = self.recorder.begin(
                client=(client[0], client[1]),
                server=(server[0], server[1]),
                method=method,
                target=request_target,
                headers=headers,
                body=body,
                replay_of=scope.get("extensions", {}).get("alb_adapter.replay_of"),
            )
        outcome = listener_refusal(method, headers, body_size, request_target=request_target)
        target_name = "-"
        if outcome is not None and exchange is not None:
            exchange.refusal = "answered by ALB before the listener rules"
        if outcome is None and self.sign_in is not None:
            outcome = self.sign_in.answer(request, body)  # its sign-in pages and public key
            if outcome is not None and exchange is not None:
                exchange.refusal = "a page of the local sign-in (emulator/auth.py), not a rule's"
        if outcome is None:
            if exchange is None:
                rule, action = self.config.select(request)
            else:
                rule, action, exchange.trace = self.config.explain(request)
                exchange.rule = "default" if rule is None else f"priority {rule.priority}"
                exchange.action = describe_action(action)
            if rule is not None and rule.authenticate is not None:
                assert self.sign_in is not None  # made for any config with an authenticate rule
                request, outcome = self.sign_in.authenticate(rule.authenticate, request)
        if outcome is None:
            if isinstance(action, Forward):
                target_name = action.choose()
                if exchange is not None:
                    exchange.target_name = target_name
                if self.config.targets[target_name].handler is not None:  # a Lambda target
                    outcome = lambda_refusal(headers)
                if outcome is None:
                    outcome = await self._forward(target_name, request, query, body, exchange)
            elif isinstance(action, Redirect):
                outcome = _redirect(action, request)
            else:
                outcome = _fixed(action)
        # Logged before the answer is sent: a client (a test) that reads the log as soon as
        # the answer arrives finds the lines there. The time is the time to the answer.
        elapsed = (time.perf_counter() - began) * 1000
        target_line = f"target={target_name}"
        reason = f" reason={outcome.reason!r}" if outcome.reason else ""
        line = f'{client[0]} "{method} {request_target}" {outcome.status} '
        access_log.info("%s%d %s %.1fms%s", line, len(outcome.body), target_line, elapsed, reason)
        if outcome.reason and outcome.status >= 500:
            log.warning(
                "%s %s: ALB answered %d: %s", method, raw_path, outcome.status, outcome.reason
            )
        head = _head(outcome)
        if exchange is not None:
            assert self.recorder is not None
            text_head = [(k.decode("latin-1"), v.decode("utf-8", "replace")) for k, v in head]
            exchange.finish(outcome.status, outcome.reason, text_head, outcome.body, elapsed)
            self.recorder.touch(exchange)
        await _respond(send, outcome, head)

    async def _forward(
        self,
        name: str,
        request: RuleRequest,
        query: str,
        body: bytes,
        exchange: Exchange | None = None,
    ) -> Outcome:
        target = self.config.targets[name]
        if name in self.broken:
            return alb_error(502, f"the function failed to initialise: {self.broken[name]}")
        function = self.function(name)
        if function is not None:
            event = event_or_error(
                request.method,
                request.path,
                query,
                list(request.headers),
                body,
                client_ip=request.source_ip,
                scheme=request.scheme,
                port=request.port,
                multi_value_headers=target.multi_value_headers,
            )
            if isinstance(event, Outcome):
                return event
            if exchange is not None:
                exchange.sent_event(event)
            return await function.invoke(event, exchange)
        if exchange is not None:
            exchange.environment = f"HTTP target {target.url}"
        assert target.url is not None
        return await self._proxy(target, request, query, body)

    async def _proxy(
        self, target: Target, request: RuleRequest, query: str, body: bytes
    ) -> Outcome:
        """Forward to an HTTP target as ALB does for instance/IP targets: Host kept, X-Forwarded-*
        added, status, headers (every Set-Cookie) and body passed back untouched."""
        assert self.http is not None
        assert target.url is not None
        base = urlsplit(target.url)
        prefix = base.path.rstrip("/")
        url = f"{base.scheme}://{base.netloc}{prefix}{request.path}" + (
            f"?{query}" if query else ""
        )
        if is_websocket_upgrade(request.headers):
            # ALB tunnels a WebSocket to an HTTP target; httpx cannot, so the handshake goes on
            # as the plain request an HTTP/1.1 intermediary may make of it (RFC 9110 §7.8).
            log.warning(
                "%s %s: a WebSocket upgrade for target %s is forwarded without its Upgrade "
                "header: the local ALB does not tunnel WebSockets (ALB does)",
                request.method,
                request.path,
                target.name,
            )
        headers: list[tuple[str, str]] = []
        xff = []
        for name, value in request.headers:
            if name == "x-forwarded-for":
                xff.append(value)
            elif name not in HOP_BY_HOP and name not in SET_BY_ALB:
                headers.append((name, value))
        xff.append(request.source_ip)
        headers += [
            ("x-forwarded-for", ", ".join(xff)),
            ("x-forwarded-proto", request.scheme),
            ("x-forwarded-port", str(request.port)),
        ]
        # Back to the client's own bytes (the text is latin-1, one character per byte): a proxy
        # passes header bytes on untouched, whatever their encoding.
        raw_headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        try:
            response = await self.http.request(
                request.method,
                httpx.URL(url),
                headers=raw_headers,
                content=body,
                timeout=target.timeout,
            )
        except httpx.TimeoutException:
            return alb_error(504, f"target {target.name} ({target.url}) did not answer in time")
        except httpx.HTTPError as exc:
            return alb_error(502, f"target {target.name} ({target.url}) unreachable: {exc}")
        pairs = [
            (k.decode("latin-1").lower(), header_text(v))
            for k, v in response.headers.raw
            if k.decode("latin-1").lower() not in HOP_BY_HOP | {"content-length"}
        ]
        return Outcome(response.status_code, pairs, response.content)

    def _health_probe(self, target: Target) -> Callable[[], Awaitable[int]]:
        name = target.name

        async def probe() -> int:
            request = RuleRequest(
                method="GET",
                path=target.health_check.path,
                query=(),
                headers=(("user-agent", "ELB-HealthChecker/2.0"),),
                source_ip="127.0.0.1",
                scheme="http",
                port=80,
            )
            function = self.function(name)
            if function is not None:
                event = build_health_check_event(
                    target.health_check.path, multi_value_headers=target.multi_value_headers
                )
                outcome = await function.invoke(event)
            else:
                outcome = await self._proxy(target, request, "", b"")
            return outcome.status

        return probe


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, stopping (and discarding) beyond ALB's 1 MB limit."""
    chunks: list[bytes] = []
    size = 0
    too_big = False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BODY_BYTES:
            too_big = True
            chunks = []
        elif not too_big:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks), too_big


def _origin_form(
    raw_path: str, headers: list[tuple[str, str]]
) -> tuple[str, list[tuple[str, str]]]:
    """The path and headers of a request whose target may be in absolute form (``GET
    http://host/path``, as clients send to a proxy): the path it names, and its authority in
    place of Host, as RFC 9112 §3.2.2 tells a server to do. Any other target is kept as sent."""
    if raw_path.startswith("/"):
        return raw_path, headers
    parts = urlsplit(raw_path)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return raw_path, headers
    authority = parts.netloc.rpartition("@")[2]  # never a user name or password in Host
    others = [(name, value) for name, value in headers if name != "host"]
    return parts.path or "/", [("host", authority), *others]


def _redirect(action: Redirect, request: RuleRequest) -> Outcome:
    location = action.location(request)
    status = action.status_code
    outcome = alb_error(status, "")
    outcome.reason = None
    outcome.headers.append(("location", location))
    return outcome


def _fixed(action: FixedResponse) -> Outcome:
    headers = [ALB_SERVER]
    if action.content_type:
        headers.append(("content-type", action.content_type))
    return Outcome(action.status_code, headers, action.message_body.encode("utf-8"))


def _arrived_on(scope: Scope, address: tuple[str, int] | None) -> bool:
    """Whether the request came in on the socket bound to ``address``."""
    server = scope.get("server")
    return address is not None and server is not None and tuple(server[:2]) == address[:2]


def _recording_judge(exchange: Exchange, multi_value_headers: bool) -> Callable[[object], Outcome]:
    """ALB's ``judge``, also keeping the raw answer and ALB's notes on it in ``exchange``."""

    def judge_answer(payload: object) -> Outcome:
        outcome = judge(payload, multi_value_headers=multi_value_headers)
        notes = judgement_notes(payload, outcome, multi_value_headers=multi_value_headers)
        exchange.answered(payload, notes)
        return outcome

    return judge_answer


def _head(outcome: Outcome) -> list[tuple[bytes, bytes]]:
    """The bytes ALBClient sends too (response_head), and a Date, as uvicorn would add."""
    headers = response_head(outcome)
    if not any(k.lower() == "date" for k, _ in outcome.headers):
        headers.append((b"date", formatdate(usegmt=True).encode()))
    return headers


async def _respond(send: Send, outcome: Outcome, headers: list[tuple[bytes, bytes]]) -> None:
    with contextlib.suppress(OSError):  # the client went away
        await send({"type": "http.response.start", "status": outcome.status, "headers": headers})
        await send({"type": "http.response.body", "body": outcome.body})
