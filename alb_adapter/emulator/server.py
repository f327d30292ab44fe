"""Serving the local ALB with uvicorn, the ASGI server that hands over raw paths, raw query bytes
and duplicate headers untouched (what ALB sees)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import uvicorn

from .app import ALBEmulator

if TYPE_CHECKING:
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
