"""Serving the local ALB with uvicorn, the ASGI server that hands over raw paths, raw query bytes
and duplicate headers untouched (what ALB sees).

``uvicorn_config`` is the one place uvicorn is configured: the server in a thread (tests), the
server the CLI runs, and each worker process of ``serve --reload`` all take their settings from it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, TypedDict

import uvicorn

from .app import ALBEmulator
from .rules import ListenerConfig, load_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# How `serve --reload` hands its options to the worker processes uvicorn restarts on each change
# (the environment is the only channel to a process uvicorn starts).
RELOAD_ENV = "ALB_ADAPTER_SERVE"


class ServeOptions(TypedDict):
    """What the local ALB serves, as plain JSON data (so `--reload` can pass it to its workers)."""

    target: str | None  # a handler spec, or None with ``config``
    config: str | None  # a TOML rules file
    multi_value_headers: bool
    timeout: float
    handler_options: dict[str, Any]
    log_level: str


def configure_logging(level: str = "info") -> None:
    """One readable stream: the access log, rule outcomes, health changes and the app's own logs."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    # The access log already has a line per proxied request; httpx's own would double it.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


def uvicorn_config(
    app: ALBEmulator | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    reload_dirs: list[str] | None = None,
) -> uvicorn.Config:
    """The uvicorn settings of the local ALB; ``app`` is the emulator, or (with ``reload_dirs``,
    for `serve --reload`) the import string of a factory that builds it in each worker."""
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        reload=reload_dirs is not None,
        reload_dirs=reload_dirs,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the emulator writes ALB-style access lines itself
        ws="none",  # upgrade requests reach the emulator, which refuses them as ALB does (400)
        lifespan="on",
        server_header=False,
        date_header=False,  # the emulator adds Date itself, only where the answer has none
        # ALB appends the peer to X-Forwarded-For and sets the protocol itself; uvicorn must not
        # let a local client's own X-Forwarded-* replace the real peer (source-ip rules use it).
        proxy_headers=False,
        log_config=None,  # keep the logging set up by configure_logging
    )


def build_server(
    config: ListenerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    handler_options: dict[str, Any] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for the emulator, not yet started (tests run it in a thread)."""
    app = ALBEmulator(config, handler_options=handler_options)
    return uvicorn.Server(uvicorn_config(app, host=host, port=port, log_level=log_level))


def listener_config(options: ServeOptions) -> ListenerConfig:
    """The listener ``options`` describe: one target behind a catch-all rule, or a rules file
    (which raises ConfigError naming the file, the rule and the field)."""
    if options["config"] is not None:
        return load_config(options["config"])
    assert options["target"] is not None
    return ListenerConfig.single_target(
        options["target"],
        multi_value_headers=options["multi_value_headers"],
        timeout=options["timeout"],
    )


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


def serve_reloading(options: ServeOptions, sock: socket.socket, *, host: str, watch: Path) -> None:
    """uvicorn's reloader: a worker process built by ``reload_app`` from ``options``, restarted
    whenever a .py file under ``watch`` changes; the same settings as every other server here."""
    from uvicorn.supervisors import ChangeReload

    os.environ[RELOAD_ENV] = json.dumps(options)
    config = uvicorn_config(
        f"{__name__}:reload_app",
        host=host,
        port=sock.getsockname()[1],
        log_level=options["log_level"],
        reload_dirs=[str(watch)],
    )
    ChangeReload(config, target=uvicorn.Server(config).run, sockets=[sock]).run()


def reload_app() -> ALBEmulator:
    """The app factory uvicorn calls in each `serve --reload` worker process."""
    raw = os.environ.get(RELOAD_ENV)
    if not raw:
        raise RuntimeError(
            f"{RELOAD_ENV} is not set: this factory is for 'alb-adapter serve --reload'"
        )
    options: ServeOptions = json.loads(raw)
    configure_logging(options["log_level"])
    return ALBEmulator(listener_config(options), handler_options=options["handler_options"])


def serve(
    config: ListenerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    handler_options: dict[str, Any] | None = None,
) -> None:
    """Run the local ALB until interrupted."""
    configure_logging(log_level)
    build_server(
        config, host=host, port=port, log_level=log_level, handler_options=handler_options
    ).run()


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
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
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
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the server did not stop within {2 * stop_seconds:g} s")
