"""Serving the local ALB with uvicorn, the ASGI server that hands over raw paths, raw query bytes
and duplicate headers untouched (what ALB sees)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn

from .app import ALBEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .rules import ListenerConfig

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str = "info") -> None:
    """One readable stream: the access log, rule outcomes, health changes and the app's own logs."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    # The access log already has a line per proxied request; httpx's own would double it.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


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
    uvicorn_config = uvicorn.Config(
        app,
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
    return uvicorn.Server(uvicorn_config)


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
