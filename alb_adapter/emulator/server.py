"""Serving the local ALB with uvicorn, the ASGI server that hands over raw paths, raw query bytes
and duplicate headers untouched (what ALB sees).

``uvicorn_config`` is the one place uvicorn is configured: the server in a thread (tests), the
server the CLI runs, and each worker process of ``serve --reload`` all take their settings from it.
Its HTTP protocol is ``ALBHttpProtocol``: uvicorn's h11 protocol (whatever else is installed) with
ALB's own answers where uvicorn has none or its own: a request head that does not arrive in time
(408), and one that cannot be parsed or passes ALB's size limits (400).

The inspector (``inspector/``) is served by the same server on a second socket, always on a
loopback address: one uvicorn server with two sockets rather than two servers, so that one
lifespan, one shutdown and one event loop serve both (the emulator tells them apart by the
socket a request arrived on, ``ALBEmulator.inspector_address``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import ALBEmulator
from .environments import SHUTDOWN_GRACE_SECONDS, RuntimeClient
from .inspector.record import DEFAULT_BODY_BYTES, Recorder
from .inspector.web import InspectorApp, is_loopback_host
from .invocation import (
    MAX_HEADER_BLOCK_BYTES,
    MAX_REQUEST_LINE_BYTES,
    Outcome,
    alb_error,
    alb_status,
    response_head,
)
from .rules import EnvironmentsMode, ListenerConfig, load_config

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator

    from uvicorn.server import ServerState

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# How long a client may take to send a whole request head: ALB's default idle timeout. ALB's
# timer restarts with each byte; this one does not, so a client sending one byte at a time
# (slowloris) cannot hold a connection either (docs/emulator.md, "What differs from ALB").
HEADER_TIMEOUT_SECONDS = 60.0
# When the server stops: how long requests still in flight may take before they are given up and
# the emulator's own shutdown runs (uvicorn's timeout_graceful_shutdown).
IN_FLIGHT_GRACE_SECONDS = 3
# The largest request head h11 buffers: ALB's request line and header block limits, with their
# line ends. Beyond it, h11 gives up and ALBHttpProtocol answers ALB's 400; within it, the
# emulator checks each limit itself (invocation.listener_refusal).
MAX_REQUEST_HEAD_BYTES = MAX_REQUEST_LINE_BYTES + 2 + MAX_HEADER_BLOCK_BYTES + 2

access_log = logging.getLogger("alb_adapter.emulator.access")
# How `serve --reload` hands its options to the worker processes uvicorn restarts on each change
# (the environment is the only channel to a process uvicorn starts).
RELOAD_ENV = "ALB_ADAPTER_SERVE"


class ServeOptions(TypedDict):
    """What the local ALB serves, as plain JSON data (so `--reload` can pass it to its workers)."""

    target: str | None  # a handler spec, or None with ``config`` or ``template``
    config: str | None  # a TOML rules file
    # A CloudFormation/SAM template (emulator/templates.py), its parameter values, the servers of
    # its instance/ip target groups and the listener to run, by logical id.
    template: NotRequired[str | None]
    parameters: NotRequired[dict[str, str]]
    target_urls: NotRequired[dict[str, str]]
    listener: NotRequired[str | None]
    multi_value_headers: bool
    timeout: float
    handler_options: dict[str, Any]
    log_level: str
    # How Lambda targets run when the rules file does not say: "process" (worker processes behind
    # the Lambda Runtime API, as Lambda runs functions) or "thread" (in the emulator's process,
    # also when the key is missing, as before process environments existed).
    environments: NotRequired[EnvironmentsMode]
    concurrency: NotRequired[int | None]  # TARGET's reserved concurrency (None: the default)
    runtime_client: NotRequired[RuntimeClient]  # "auto", "awslambdaric" or "builtin"
    # The inspector: the requests it keeps (None: no inspector), and, for `--reload`'s workers,
    # the loopback address its socket is bound to.
    inspect_keep: NotRequired[int | None]
    inspect_address: NotRequired[tuple[str, int] | None]


def configure_logging(level: str = "info") -> None:
    """One readable stream: the access log, rule outcomes, health changes and the app's own logs."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    # The access log already has a line per proxied request; httpx's own would double it.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


class ALBHttpProtocol(H11Protocol):
    """uvicorn's h11 protocol answering as ALB where uvicorn would not: a request head not
    complete within ``header_timeout`` seconds is answered 408 and the connection closed (h11's
    protocol has no such timeout: idle or slow sockets stayed open for good), and a request h11
    cannot parse (malformed, or a head over ``MAX_REQUEST_HEAD_BYTES``) gets ALB's 400 page
    instead of uvicorn's text. Each is logged on the access log, as ALB logs them."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # The response head and body are two writes: with Nagle's algorithm on, the body waits
        # for the client's delayed ACK of the head, 40 ms on every kept-alive request. asyncio
        # turns it off itself only for sockets made with proto IPPROTO_TCP, which those bound
        # here (listen, running) and those handed over by --reload are not.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._wait_for_request_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # a request head is still to come, or incomplete
            self._wait_for_request_head()
        else:
            self._stop_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # The next request's head is timed from its first byte; until then uvicorn's keep-alive
        # timeout closes an idle connection.
        self._stop_waiting()
        super().on_response_complete()

    def _wait_for_request_head(self) -> None:
        if self.header_timer is None and not self.transport.is_closing():
            self.header_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_waiting(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _head_timed_out(self) -> None:
        self.header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        self._answer_and_close(
            alb_error(
                408, f"no complete request head within {self.header_timeout:g} s (idle timeout)"
            )
        )

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse (``msg`` is its generic text)."""
        self._stop_waiting()
        self._answer_and_close(
            alb_error(
                400,
                "the request is not valid HTTP/1.1, or its head is over ALB's limits "
                f"({MAX_REQUEST_HEAD_BYTES:,} bytes with the request line)",
            )
        )

    def _unsupported_upgrade_warning(self) -> None:
        """Silence uvicorn's advice to install a WebSocket library: the emulator answers
        upgrade requests itself, as ALB does for the target the rules choose."""

    def _answer_and_close(self, outcome: Outcome) -> None:
        """Write ``outcome`` as the whole answer on this connection, outside h11 (which holds no
        request to answer), and close it."""
        head = [f"HTTP/1.1 {alb_status(outcome.status)}\r\n".encode()]
        head += [name + b": " + value + b"\r\n" for name, value in response_head(outcome)]
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + outcome.body)
        self.transport.close()
        client = self.client[0] if self.client else "-"
        access_log.info(
            '%s "-" %d %d target=- reason=%r',
            client,
            outcome.status,
            len(outcome.body),
            outcome.reason,
        )


@functools.cache
def _http_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """``ALBHttpProtocol`` with its header timeout: a partial of a module-level class, so that
    `serve --reload` can pickle the config for its worker process, and the same object for the
    same timeout, so that two configs with the same settings are equal. uvicorn calls it as it
    would call the class."""
    return cast(
        "type[asyncio.Protocol]",
        functools.partial(ALBHttpProtocol, header_timeout=header_timeout),
    )


def uvicorn_config(
    app: ALBEmulator | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    reload_dirs: list[str] | None = None,
    header_timeout: float = HEADER_TIMEOUT_SECONDS,
) -> uvicorn.Config:
    """The uvicorn settings of the local ALB; ``app`` is the emulator, or (with ``reload_dirs``,
    for `serve --reload`) the import string of a factory that builds it in each worker.

    ``header_timeout`` is the time a client has to send a request head (``ALBHttpProtocol``).
    """
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        reload=reload_dirs is not None,
        reload_dirs=reload_dirs,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the emulator writes ALB-style access lines itself
        http=_http_protocol(header_timeout),
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        # Upgrade requests reach the emulator as requests: refused for a Lambda target (400), as
        # ALB does; forwarded, without their Upgrade, to an HTTP target.
        ws="none",
        lifespan="on",
        server_header=False,
        date_header=False,  # the emulator adds Date itself, only where the answer has none
        # ALB appends the peer to X-Forwarded-For and sets the protocol itself; uvicorn must not
        # let a local client's own X-Forwarded-* replace the real peer (source-ip rules use it).
        proxy_headers=False,
        log_config=None,  # keep the logging set up by configure_logging
        # When the server stops, requests still waiting for a function get this long, then are
        # given up, so that the emulator's shutdown (which stops the environments) is never held
        # by a hung invocation for as long as its timeout.
        timeout_graceful_shutdown=IN_FLIGHT_GRACE_SECONDS,
    )


def build_server(
    config: ListenerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    handler_options: dict[str, Any] | None = None,
    header_timeout: float = HEADER_TIMEOUT_SECONDS,
    environments: EnvironmentsMode = "thread",
    runtime_client: RuntimeClient = "auto",
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
    inspect_keep: int | None = None,
    inspect_body_bytes: int = DEFAULT_BODY_BYTES,
) -> uvicorn.Server:
    """A uvicorn server for the emulator, not yet started (tests run it in a thread).

    ``environments`` is how the Lambda targets that do not say run (``ALBEmulator``): threads
    here unless asked, so that a test's handler runs in the test's process; ``alb-adapter serve``
    chooses per target through ``ServeOptions``' ``environments`` (``listener_config``).

    ``inspect_keep``: record the last so many requests for the inspector (None: no inspector),
    each body kept up to ``inspect_body_bytes``. Its socket is bound by ``running`` (on
    127.0.0.1) or by the caller, which sets ``ALBEmulator.inspector_address``.
    """
    recorder = None
    if inspect_keep is not None:
        recorder = Recorder(inspect_keep, body_bytes=inspect_body_bytes)
    app = with_inspector(
        ALBEmulator(
            config,
            handler_options=handler_options,
            environments=environments,
            runtime_client=runtime_client,
            shutdown_grace=shutdown_grace,
            recorder=recorder,
        )
    )
    return uvicorn.Server(
        uvicorn_config(
            app, host=host, port=port, log_level=log_level, header_timeout=header_timeout
        )
    )


def with_inspector(emulator: ALBEmulator) -> ALBEmulator:
    """``emulator``, serving the inspector's page when it records requests."""
    if emulator.recorder is not None:
        emulator.inspector = InspectorApp(emulator, emulator.recorder)
    return emulator


def listener_config(options: ServeOptions) -> ListenerConfig:
    """The listener ``options`` describe: one target behind a catch-all rule, a rules file or a
    template (which raise ConfigError naming the file, the rule or resource, and the field).

    Lambda targets that do not choose their ``environments`` get the options' (``"thread"``
    when they do not say).
    """
    environments = options.get("environments", "thread")
    template = options.get("template")
    if options["config"] is not None or template is not None:
        if template is not None:
            from .templates import load_template  # the 'templates' extra: only when asked

            config = load_template(
                template,
                parameters=options.get("parameters", {}),
                target_urls=options.get("target_urls", {}),
                listener=options.get("listener"),
            )
        else:
            assert options["config"] is not None
            config = load_config(options["config"])
        targets = {
            name: target
            if target.handler is None or target.environments is not None
            else dataclasses.replace(target, environments=environments)
            for name, target in config.targets.items()
        }
        return dataclasses.replace(config, targets=targets)
    assert options["target"] is not None
    return ListenerConfig.single_target(
        options["target"],
        multi_value_headers=options["multi_value_headers"],
        timeout=options["timeout"],
        environments=environments,
        concurrency=options.get("concurrency"),
    )


def watched_folders(config: ListenerConfig, start: Path) -> list[Path]:
    """What `serve --reload` watches: ``start`` (the current directory) and the folder each
    Lambda target's code is imported from (a rules file's or a template's folder, a function's
    ``CodeUri``), each once, none inside another."""
    folders = [start.resolve()]
    for target in config.targets.values():
        if target.handler is not None and target.task_root is not None:
            folders.append(Path(target.task_root).resolve())
    kept: list[Path] = []
    for folder in sorted(set(folders), key=lambda path: len(path.parts)):
        if not any(folder.is_relative_to(outer) for outer in kept):
            kept.append(folder)
    return kept


def listen(host: str, port: int) -> socket.socket:
    """A listening socket for the server, bound before it starts (so a busy port is reported
    before anything runs) and inheritable (so `--reload` can hand it to its workers)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_reloading(
    options: ServeOptions,
    sock: socket.socket,
    *,
    host: str,
    watch: list[Path],
    inspector_sock: socket.socket | None = None,
) -> None:
    """uvicorn's reloader: a worker process built by ``reload_app`` from ``options``, restarted
    whenever a .py file under one of the ``watch`` folders changes; the same settings as every
    other server here.
    The inspector's socket, when there is one, is handed to each worker too (a reload starts
    its record afresh)."""
    from uvicorn.supervisors import ChangeReload

    sockets = [sock]
    if inspector_sock is not None:
        sockets.append(inspector_sock)
        address = inspector_sock.getsockname()
        options = {**options, "inspect_address": (address[0], address[1])}

    os.environ[RELOAD_ENV] = json.dumps(options)
    config = uvicorn_config(
        f"{__name__}:reload_app",
        host=host,
        port=sock.getsockname()[1],
        log_level=options["log_level"],
        reload_dirs=[str(folder) for folder in watch],
    )
    ChangeReload(config, target=uvicorn.Server(config).run, sockets=sockets).run()


def reload_app() -> ALBEmulator:
    """The app factory uvicorn calls in each `serve --reload` worker process."""
    raw = os.environ.get(RELOAD_ENV)
    if not raw:
        raise RuntimeError(
            f"{RELOAD_ENV} is not set: this factory is for 'alb-adapter serve --reload'"
        )
    options: ServeOptions = json.loads(raw)
    configure_logging(options["log_level"])
    keep = options.get("inspect_keep")
    address = options.get("inspect_address")
    emulator = with_inspector(
        ALBEmulator(
            listener_config(options),
            handler_options=options["handler_options"],
            runtime_client=options.get("runtime_client", "auto"),
            keep_serving_broken_targets=True,  # a syntax error being fixed: a 502, never a hang
            recorder=Recorder(keep) if keep is not None and address is not None else None,
        )
    )
    if emulator.recorder is not None and address is not None:
        emulator.inspector_address = (address[0], int(address[1]))
    return emulator


def serve(
    config: ListenerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    handler_options: dict[str, Any] | None = None,
    environments: EnvironmentsMode = "process",
    runtime_client: RuntimeClient = "auto",
    inspect_port: int | None = None,
    inspect_keep: int = 200,
) -> None:
    """Run the local ALB until interrupted (Lambda targets that do not say run in processes);
    with ``inspect_port`` (0: any free one), the inspector too, on 127.0.0.1."""
    configure_logging(log_level)
    server = build_server(
        config,
        host=host,
        port=port,
        log_level=log_level,
        handler_options=handler_options,
        environments=environments,
        runtime_client=runtime_client,
        inspect_keep=None if inspect_port is None else inspect_keep,
    )
    sockets = [listen(host, port)]
    if inspect_port is not None:
        sockets.append(bind_inspector(server, "127.0.0.1", inspect_port))
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()


def bind_inspector(server: uvicorn.Server, host: str, port: int) -> socket.socket:
    """Bind the inspector's socket for ``server``'s emulator on ``host`` (a loopback address:
    the inspector shows secrets, so anything else raises ValueError) and tell the emulator."""
    if not is_loopback_host(host):
        raise ValueError(
            f"the inspector listens on a loopback address only (it shows cookies and "
            f"authorization headers), not {host}"
        )
    app = server.config.app
    assert isinstance(app, ALBEmulator)
    assert app.recorder is not None, "build_server(inspect_keep=...) makes the inspector"
    sock = listen(host, port)
    address = sock.getsockname()
    app.inspector_address = (address[0], address[1])
    return sock


@contextlib.contextmanager
def running(
    server: uvicorn.Server,
    *,
    host: str = "127.0.0.1",
    start_seconds: float = 15.0,
    stop_seconds: float = 10.0,
) -> Iterator[str]:
    """Run ``server`` in a thread for the duration of the block and yield its base URL (for tests
    and demos: the local ALB, or a legacy app behind it).

    The socket is bound here to a free port, so there is no race for it; starting and stopping are
    bounded in time, and a server that will not stop is an error, not a hang.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sockets = [sock]
    app = server.config.app
    if isinstance(app, ALBEmulator) and app.recorder is not None:
        sockets.append(bind_inspector(server, "127.0.0.1", 0))  # its page: app.inspector_url
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_seconds
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting (see the log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {start_seconds:g} s")
            time.sleep(0.01)
        bound_host, port = sock.getsockname()[:2]
        yield f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{port}"
    finally:
        server.should_exit = True
        thread.join(stop_seconds)
        if thread.is_alive():  # a kept-alive connection held it: stop without waiting for it
            server.force_exit = True
            thread.join(stop_seconds)
        for bound in sockets:
            bound.close()
        if isinstance(server.config.app, ALBEmulator):
            # A forced exit skips the emulator's shutdown: its worker processes stop here, and
            # the local sign-in's key leaves the environment.
            server.config.app.close_environments()
            if server.config.app.sign_in is not None:
                server.config.app.sign_in.withdraw_key()
        if thread.is_alive():
            raise RuntimeError(f"the server did not stop within {2 * stop_seconds:g} s")
