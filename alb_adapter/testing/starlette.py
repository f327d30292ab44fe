"""TestClient: Starlette's (and FastAPI's) ``TestClient``, with every request sent through
``ASGIHandler`` and ALB (or another front door). An existing test suite changes one import:

    from alb_adapter.testing.starlette import TestClient   # was: from fastapi.testclient import ...

    client = TestClient(app)                               # no lifespan, as with Starlette's
    with TestClient(app, multi_value_headers=True) as client:   # lifespan startup, then shutdown
        assert client.get("/items/1").json() == {"id": 1}

Starlette's client hands the app its scope directly. This one builds the Lambda handler,
``ASGIHandler(app)``, and sends each request the whole way ALB does: its front door, the event it
builds, the handler, and its judgement of the answer (``through`` in
``alb_adapter/emulator/services.py``, shared with ``ALBClient``, ``ALBWSGIApp`` and the local
ALB). So a test fails where the deployed function would: a body over 1 MB is ALB's 413 before the
app sees it, an answer ALB rejects is its 502 (the reason in the ``x-alb-emulator-error``
header), a header no load balancer may carry is the handler's 500, and in single-value mode only
the last of a repeated request header or query key arrives.

``source=`` puts another front door in ALB's place (``"apigw-rest"``, ``"apigw-http-v1"``,
``"apigw-http-v2"``, ``"function-url"``, ``"vpc-lattice-v2"``, ``"vpc-lattice-v1"``: the names of
``alb_adapter/emulator/services.py``), with its event, its reading of the answer and its own error
answer. ``stage=`` (API Gateway only) sends the requests to the API's default execute-api URL,
whose paths start with the stage (``client.get("/prod/items")``): the app's ``root_path`` is
``/prod`` and its host the execute-api host, so ``request.url_for`` gives the execute-api URL.
Without a stage the requests go to the host of ``base_url``, a custom domain whose API mapping
picks the stage. Under a stage, give ``base_url`` the API's invoke URL, as a browser has it: the
paths are then the app's own, and an absolute redirect built by the app goes to the host the
cookie jar keeps the cookies for. Settings a front door does not have (multi-value headers
anywhere but ALB, a stage anywhere but API Gateway) are refused when the client is built::

    invoke_url = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"
    with TestClient(app, base_url=invoke_url, source="apigw-http-v2", stage="prod") as client:
        assert client.get("/items/1").json() == {"id": 1}     # GET /prod/items/1 on the wire

What differs from Starlette's client, because ALB and Lambda differ from an in-process call:

* ``client`` must be an IP address: ALB puts the peer's address in X-Forwarded-For, and the app
  reads the client from there (by default ``198.51.100.7``, a documentation address).
* ``root_path`` is where ALB's listener rule forwards to the function (the handler's
  ``base_path``). ALB does not strip it, so a path requested outside it is sent under it
  (``/items`` becomes ``/shop/items``); a path already under it is sent as it is.
* The app runs on the handler's own asyncio loop (``backend="trio"`` is refused), in the
  test's thread as Lambda runs it in the runtime's; in an ``async def`` test, whose loop is
  running, in a worker thread while the test waits (Starlette's client blocks there too).
* ``websocket_connect`` raises ``WebSocketUnsupported``: ALB does not forward WebSocket to Lambda.
* The lifespan state is ``client.handler.state`` (Starlette's ``client.app_state``); there is no
  ``client.portal``.

Why not a subclass of Starlette's ``TestClient``: its constructor builds its own transport (the
one that calls the app in-process) and takes no other, and its lifespan methods and portal drive
the app directly. A subclass would have to skip that constructor or overwrite httpx's private
transport attribute, and would inherit methods that cannot work. This class derives from the same
``httpx2.Client`` (``httpx.Client`` where only httpx is installed, as Starlette falls back), so
responses, cookies and the request methods are those of Starlette's client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self, TypeVar
from urllib.parse import quote

from ..config import Config
from ..emulator.invocation import response_head
from ..emulator.services import find_service, through
from ..handler import BaseHandler
from ..lifespan import LIFESPAN_MODES
from ..sources.alb.balancer import EXAMPLE_CLIENT_IP
from .wsgi_app import ERROR_HEADER

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from http.cookiejar import CookieJar
    from types import TracebackType

    import httpx2 as httpx
    from typing_extensions import Unpack

    from ..asgi import ASGIHandler
    from ..config import ConfigOptions
    from ..emulator.services import Service
    from ..lifespan import ASGI3Application, LifespanMode
else:
    try:  # the library Starlette's TestClient is built on, preferred as Starlette prefers it
        import httpx2 as httpx
    except ModuleNotFoundError:
        import httpx

__all__ = ["TestClient", "WebSocketUnsupported"]

Result = TypeVar("Result")

DEFAULT_BASE_URL = "http://testserver"  # Starlette's
# What may stay unescaped in a path (RFC 3986 pchar and "/"): root_path as it is sent.
_PATH_SAFE = "/:@!$&'()*+,;=~-._"


class WebSocketUnsupported(RuntimeError):
    """A WebSocket connection was asked for: ALB does not forward WebSocket to Lambda targets."""


class LambdaTransport(httpx.BaseTransport):
    """Each request through the front door (ALB unless ``service`` says otherwise) to the app's
    ``ASGIHandler``; builds and closes that handler.

    The handler is built by ``open()`` (``with client:``, with the lifespan) or, without it, at
    the first request with ``lifespan="off"``, as Starlette's client runs no lifespan outside
    ``with``. Calls are made one at a time, as one Lambda execution environment answers them.
    """

    def __init__(
        self,
        app: ASGI3Application,
        *,
        handler_options: ConfigOptions,
        mount: str,
        multi_value_headers: bool,
        client_ip: str,
        timeout: float,
        raise_handler_errors: bool,
        service: Service,
        stage: str | None,
    ) -> None:
        self.app = app
        self.handler_options = handler_options
        self.mount = mount
        self.multi_value_headers = multi_value_headers
        self.client_ip = client_ip
        self.timeout = timeout
        self.raise_handler_errors = raise_handler_errors
        self.service = service
        self.stage = stage
        self.handler: ASGIHandler | None = None
        self._one_at_a_time = threading.Lock()

    def open(self, lifespan: LifespanMode) -> ASGIHandler:
        """Close the current handler, if any, and build a new one (its lifespan starts now)."""
        from ..asgi import ASGIHandler  # asyncio, only once a test needs it

        self.close()

        def build() -> ASGIHandler:
            # snapstart=False: no snapshot is ever taken of a test process.
            return ASGIHandler(self.app, lifespan=lifespan, snapstart=False, **self.handler_options)

        self.handler = outside_event_loop(build)
        return self.handler

    def close(self) -> None:
        """Close the handler (lifespan shutdown, when it ran a startup); idempotent."""
        handler, self.handler = self.handler, None
        if handler is not None:
            outside_event_loop(handler.close)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        url = request.url
        # The bytes as sent, one character per byte, as the local ALB reads them; through()
        # decodes them as UTF-8 for the event, as ALB does. httpx has added Host.
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]
        with self._one_at_a_time:
            handler = self.handler or self.open("off")
            one_request = partial(
                through,
                self.service,
                handler,
                request.method,
                self.under_mount(url.raw_path.decode("ascii")),
                headers,
                body,
                client_ip=self.client_ip,
                scheme=url.scheme,
                port=url.port or (443 if url.scheme == "https" else 80),
                multi_value_headers=self.multi_value_headers,
                timeout=self.timeout,
                raise_handler_errors=self.raise_handler_errors,
                stage=self.stage,
            )
            outcome = outside_event_loop(one_request)
        # Bytes, not text: httpx would encode text as ASCII and fail on a function's "Zoë".
        head = response_head(outcome)
        if outcome.reason:
            head.append((ERROR_HEADER.encode(), outcome.reason.encode("ascii", "replace")))
        return httpx.Response(outcome.status, headers=head, content=outcome.body, request=request)

    def under_mount(self, target: str) -> str:
        """The request target under ``mount`` (Starlette's ``root_path``), which ALB forwards
        whole: ``/items`` becomes ``/shop/items``, ``/shop/items`` stays as it is. Under an API
        Gateway stage the mount point follows the stage, as in the URL: ``/prod/items`` becomes
        ``/prod/shop/items``."""
        mount = self.mount
        if not mount:
            return target
        stage = "" if self.stage is None else "/" + quote(self.stage, safe=_PATH_SAFE)
        if stage and (target == stage or target.startswith((stage + "/", stage + "?"))):
            target = target.removeprefix(stage)
        else:
            stage = ""
        path = target.partition("?")[0]
        if path == mount or path.startswith(mount + "/"):
            return stage + target
        return stage + mount + target


class TestClient(httpx.Client):
    """Starlette's ``TestClient``, through ``ASGIHandler`` and ALB or another front door (see the
    module doc).

    Starlette's arguments keep their meaning, except ``client`` (an IP address) and ``backend``
    (``"asyncio"`` only). ``multi_value_headers`` is the target group's
    ``lambda.multi_value_headers.enabled``; ``source`` the front door (default ``"alb"``) and
    ``stage`` an API Gateway stage whose execute-api URL the requests go to, the paths starting
    with it (default None: the host of ``base_url``); ``lifespan`` is the handler's mode
    (``"auto"``, ``"on"``, ``"off"``) inside ``with client:``; ``timeout`` is the function's
    timeout in seconds (Lambda's setting, not an HTTP timeout); other keywords are the handler's
    options (``base_path``, ``multi_cookie``, ``trusted_hops``...: see ``alb_adapter.Config``).

    ``raise_server_exceptions`` (True by default, as in Starlette) builds the handler with
    ``raise_app_exceptions=True`` and lets what it raises reach the test; with False the test
    gets the answer the deployed function gives (the app's own 500 page, or the handler's).

    ``with client:`` builds the handler, which runs the lifespan startup once, as Lambda's init
    does, and closes it at the end (shutdown, once). Without ``with``, the handler is built at
    the first request without lifespan, as Starlette's client runs none, and closed with the
    client. ``client.handler`` is the handler (None until built), ``client.app`` the app.
    """

    __test__ = False  # named Test*, but a client: pytest must not collect it

    def __init__(
        self,
        app: ASGI3Application,
        base_url: str = DEFAULT_BASE_URL,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] | None = None,
        *,
        multi_value_headers: bool = False,
        lifespan: LifespanMode = "auto",
        timeout: float = 30.0,
        source: str = "alb",
        stage: str | None = None,
        **handler_options: Unpack[ConfigOptions],
    ) -> None:
        if isinstance(app, BaseHandler):
            raise TypeError(
                "TestClient takes the ASGI app and builds its Lambda handler itself: pass "
                "handler.app (and the handler's options), or send requests to a ready-made "
                "handler with alb_adapter.testing.ALBClient(handler)"
            )
        if not callable(app):
            raise TypeError(f"TestClient needs an ASGI application (a callable), got {app!r}")
        if "raise_app_exceptions" in handler_options:
            raise TypeError(
                "TestClient sets the handler's raise_app_exceptions from raise_server_exceptions: "
                "pass raise_server_exceptions=True or False instead"
            )
        if backend != "asyncio" or backend_options:
            raise ValueError(
                "ASGIHandler runs the app on its own asyncio loop, as in Lambda: backend and "
                "backend_options cannot be chosen; leave them out"
            )
        if lifespan not in LIFESPAN_MODES:
            raise ValueError(f"lifespan must be one of 'auto', 'on', 'off', got {lifespan!r}")
        if not isinstance(multi_value_headers, bool):
            raise TypeError(
                f"multi_value_headers must be True or False, got {multi_value_headers!r}"
            )
        service = find_service(source)
        service.check(multi_value_headers=multi_value_headers, stage=stage)
        options = _with_root_path(handler_options, root_path)
        options["raise_app_exceptions"] = raise_server_exceptions
        config = Config(**options)  # a wrong option fails here, not at the first request
        self.app = app
        self.lifespan_mode: LifespanMode = lifespan
        self._in_with = False
        self._lambda = LambdaTransport(
            app,
            handler_options=options,
            mount=quote(config.base_path, safe=_PATH_SAFE) if root_path else "",
            multi_value_headers=multi_value_headers,
            client_ip=_client_ip(client),
            timeout=timeout,
            raise_handler_errors=raise_server_exceptions,
            service=service,
            stage=stage,
        )
        headers = dict(headers or {})
        headers.setdefault("user-agent", "testclient")
        super().__init__(
            base_url=base_url,
            headers=headers,
            transport=self._lambda,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    @property
    def handler(self) -> ASGIHandler | None:
        """The Lambda handler requests go to; None before the first request or ``with``."""
        return self._lambda.handler

    @property
    def multi_value_headers(self) -> bool:
        """The target group's header mode this client sends requests in."""
        return self._lambda.multi_value_headers

    @property
    def source(self) -> str:
        """The front door requests go through (``"alb"``, ``"apigw-rest"``...)."""
        return self._lambda.service.name

    @property
    def stage(self) -> str | None:
        """The API Gateway stage whose execute-api URL requests go to; None: the host of
        ``base_url`` (and every front door but API Gateway)."""
        return self._lambda.stage

    def __enter__(self) -> Self:
        """Build the handler: its lifespan startup runs now, once (Lambda's init phase)."""
        if self._in_with:
            raise RuntimeError(
                "this TestClient is already inside `with`: its handler is open; use the client "
                "directly, or build a second TestClient for a second execution environment"
            )
        self._lambda.open(self.lifespan_mode)
        self._in_with = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        """Close the handler (lifespan shutdown, once). The client stays usable, as Starlette's:
        a later request builds a handler without lifespan, a later ``with`` a new one with it."""
        self._in_with = False
        self._lambda.close()

    def websocket_connect(
        self, url: str, subprotocols: Sequence[str] | None = None, **kwargs: Any
    ) -> NoReturn:
        """Always raises WebSocketUnsupported: ALB answers 400 to a WebSocket upgrade for a
        Lambda target, so such a route cannot be reached through it."""
        raise WebSocketUnsupported(
            f"websocket_connect({url!r}): ALB does not support WebSocket connections to Lambda "
            "targets (it answers 400 to the upgrade). Serve WebSocket routes from an instance, IP "
            "or container target group, and test them with starlette.testclient.TestClient"
        )

    def websocket(self, url: httpx.URL | str, **kwargs: Any) -> NoReturn:
        """httpx2's own WebSocket client: refused for the same reason as websocket_connect."""
        self.websocket_connect(str(url))

    def __repr__(self) -> str:
        if self.source == "alb":
            door = "multi-value" if self.multi_value_headers else "single-value"
            door += " headers"
        else:
            door = self._lambda.service.label
            if self.stage is not None:
                door += f", stage {self.stage!r}"
        return f"TestClient({self.app!r}, {door}, handler={self.handler!r})"


def _with_root_path(options: ConfigOptions, root_path: str) -> ConfigOptions:
    """The handler's options with Starlette's ``root_path`` as its ``base_path`` (the same mount
    point, said twice, must agree)."""
    options = options.copy()
    if not root_path:
        return options
    base_path = options.get("base_path", "")
    if base_path and base_path.rstrip("/") != root_path.rstrip("/"):
        raise ValueError(
            f"root_path={root_path!r} and base_path={base_path!r} both name the mount point; "
            "give one of them"
        )
    options["base_path"] = root_path
    return options


def _client_ip(client: tuple[str, int] | None) -> str:
    """The address ALB puts in X-Forwarded-For for Starlette's ``client=(host, port)``."""
    if client is None:
        return EXAMPLE_CLIENT_IP
    host = client[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"client={client!r}: ALB gives the app the client's IP address (X-Forwarded-For), "
            "never a name; pass one such as ('203.0.113.7', 50000), or leave client out"
        ) from None
    return host


def outside_event_loop(call: Callable[[], Result]) -> Result:
    """``call()`` in this thread, or, where an event loop is running here (an async test), in a
    short-lived thread while this one waits, as Starlette's client blocks on its portal.

    The handler runs its own loop to completion, as the Lambda runtime's thread does, and that
    cannot happen inside another running loop. The test's loop is blocked meanwhile, so the app
    must not wait on something only that loop can finish (with Starlette's client neither).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alb-adapter-lambda") as worker:
        return worker.submit(call).result()
