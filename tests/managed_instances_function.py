"""The function code of tests/test_managed_instances.py: what each runtime worker process of a
Lambda Managed Instances environment imports, as a module of its own (multiprocessing's 'spawn'
start method imports it by name in each new process).

The apps are module-level, as in a real function; the handlers are built by ``serve`` in the
worker process, as the runtime's import of the handler module would build them there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from alb_adapter import ASGIHandler, WSGIHandler

# Per process: each worker process has its own copy of this module and of everything in it.
STARTUPS = 0


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Opens a stand-in pool per lifespan startup; answers which process made it."""
    global STARTUPS  # noqa: PLW0603 (the per-process count is the point)
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                STARTUPS += 1
                scope["state"]["pool"] = {"pid": os.getpid(), "startup": STARTUPS}
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = json.dumps(
        {"pid": os.getpid(), "pool": scope["state"]["pool"], "startups": STARTUPS}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = json.dumps({"pid": os.getpid(), "path": environ["PATH_INFO"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def serve(
    events: list[dict[str, Any]], ready: Any, results: Any, timeout: float
) -> None:  # pragma: no cover (runs in the worker processes)
    """One worker process: build both handlers, wait until every worker has (they coexist in one
    environment), answer each event with each handler and report what it saw."""
    wsgi = WSGIHandler(wsgi_app)
    asgi = ASGIHandler(asgi_app)
    ready.wait(timeout)
    try:
        results.put(
            {
                "pid": os.getpid(),
                "wsgi": [wsgi(event, None) for event in events],
                "asgi": [asgi(event, None) for event in events],
                "startups": STARTUPS,
            }
        )
    finally:
        asgi.close()
