"""ALBClient and AsyncALBClient: httpx clients whose requests go through a Lambda handler exactly
as ALB sends them.

    client = ALBClient(handler, multi_value_headers=True)
    assert client.get("/account/profile").status_code == 200

    async with AsyncALBClient(handler) as client:       # inside a running event loop
        assert (await client.get("/account/profile")).status_code == 200

Each request becomes the event ALB would build; the handler's answer is judged as ALB judges it,
so a test fails with a 502 wherever a real load balancer would answer 502 (a null, a non-string
header, headers in the wrong field, a response over 1 MB...). The reason is sent in the
``x-alb-emulator-error`` header (a function that raises is also logged on ``alb_adapter.emulator``).
Header bytes travel as through the local ALB: the event carries the request's header bytes decoded
as UTF-8 (others are refused, as ALB refuses them), and the response's header values are sent as
UTF-8 bytes.

Another front door: ``source=`` names it (``"apigw-rest"``, ``"apigw-http-v1"``,
``"apigw-http-v2"``, ``"function-url"``, ``"vpc-lattice-v2"``, ``"vpc-lattice-v1"``; see
``alb_adapter/emulator/services.py``), and its event and its reading of the answer replace ALB's;
``stage=`` (API Gateway) sends requests to the API's default execute-api URL under that stage,
the paths then starting with it, instead of to a custom domain.

``ALBClient`` calls the handler in the test's own thread, as Lambda calls it on the runtime's
thread; inside a running event loop (an async test) it refuses, since an ``ASGIHandler`` cannot
run its loop there. ``AsyncALBClient`` calls the handler in a worker thread instead, one
invocation at a time (one execution environment), never on the test's loop.
"""

from __future__ import annotations

import asyncio
import threading
from functools import partial
from typing import Any, ClassVar

import anyio.to_thread
import httpx

from ..emulator.invocation import Handler, Outcome, response_head
from ..emulator.services import find_service, through
from ..sources.alb.balancer import EXAMPLE_CLIENT_IP

# A reserved name (RFC 2606): test logs never look like traffic to a real site.
DEFAULT_BASE_URL = "https://alb-adapter.test"
ERROR_HEADER = "x-alb-emulator-error"


class _FrontDoorTransport:
    """What both transports share: their options, checked once, and one httpx request through
    the front door to the handler (``through``); each transport says from where it calls it."""

    def __init__(
        self,
        handler: Handler,
        *,
        multi_value_headers: bool = False,
        client_ip: str = EXAMPLE_CLIENT_IP,
        timeout: float = 30.0,
        raise_handler_errors: bool = False,
        source: str = "alb",
        stage: str | None = None,
    ) -> None:
        if not callable(handler):
            raise TypeError(f"a Lambda handler (a callable taking event, context), got {handler!r}")
        # Private: the transport's one public attribute is its handler.
        self._service = find_service(source)
        self._service.check(multi_value_headers=multi_value_headers, stage=stage)
        self._stage = stage
        self._handler = handler
        self._multi_value_headers = multi_value_headers
        self._client_ip = client_ip
        self._timeout = timeout
        self._raise_handler_errors = raise_handler_errors
        # Made with the transport, never at a first request (two threads could each make one);
        # only AsyncALBTransport takes it: it calls the handler from worker threads.
        self._one_at_a_time = threading.Lock()

    @property
    def handler(self) -> Handler:
        """The Lambda handler every request goes to."""
        return self._handler

    def _through(self, request: httpx.Request, body: bytes) -> httpx.Response:
        url = request.url
        # The bytes as sent, one character per byte, as the local ALB reads them from uvicorn;
        # through_alb decodes them as UTF-8 for the event, as ALB does. httpx adds Host itself.
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]
        outcome = through(
            self._service,
            self._handler,
            request.method,
            url.raw_path.decode("ascii"),
            headers,
            body,
            client_ip=self._client_ip,
            scheme=url.scheme,
            port=url.port or (443 if url.scheme == "https" else 80),
            multi_value_headers=self._multi_value_headers,
            timeout=self._timeout,
            raise_handler_errors=self._raise_handler_errors,
            stage=self._stage,
        )
        return _client_response(outcome, request)


def _client_response(outcome: Outcome, request: httpx.Request) -> httpx.Response:
    # Bytes, not text: httpx would encode text as ASCII and fail on a function's "Zoë".
    headers = response_head(outcome)
    if outcome.reason:
        headers.append((ERROR_HEADER.encode(), outcome.reason.encode("ascii", "replace")))
    return httpx.Response(outcome.status, headers=headers, content=outcome.body, request=request)


def _refuse_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "ALBClient calls the Lambda handler in this thread, where an event loop is running (an "
        "async test); use AsyncALBClient there (`async with AsyncALBClient(handler) as client: "
        "await client.get(...)`), which calls the handler in a worker thread as Lambda would"
    )


class ALBTransport(_FrontDoorTransport, httpx.BaseTransport):
    """The httpx transport: HTTP request -> ALB event -> handler -> ALB's judgement -> response."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_running_loop()
        return self._through(request, request.read())


class AsyncALBTransport(_FrontDoorTransport, httpx.AsyncBaseTransport):
    """ALBTransport for ``httpx.AsyncClient``: the handler runs in a worker thread, as the Lambda
    runtime runs it outside any event loop of the caller's, and one invocation at a time, as in
    one execution environment (concurrent requests queue, they never overlap in the handler)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        return await anyio.to_thread.run_sync(partial(self._send, request, body))

    def _send(self, request: httpx.Request, body: bytes) -> httpx.Response:
        with self._one_at_a_time:
            return self._through(request, body)


class _FrontDoorClient:
    """The constructor both clients share: the front door's options go to the client's
    transport (``_transport_class``), httpx's own to the httpx client that follows in the class's
    bases."""

    _transport_class: ClassVar[type[_FrontDoorTransport]]

    def __init__(
        self,
        handler: Handler,
        *,
        multi_value_headers: bool = False,
        client_ip: str = EXAMPLE_CLIENT_IP,
        timeout: float = 30.0,
        base_url: str = DEFAULT_BASE_URL,
        source: str = "alb",
        stage: str | None = None,
        **client_options: Any,
    ) -> None:
        transport = self._transport_class(
            handler,
            multi_value_headers=multi_value_headers,
            client_ip=client_ip,
            timeout=timeout,
            source=source,
            stage=stage,
        )
        # The next class in the MRO is httpx.Client or httpx.AsyncClient, which mypy cannot
        # see from this mixin alone.
        super().__init__(  # type: ignore[call-arg]
            transport=transport, base_url=base_url, **client_options
        )


class ALBClient(_FrontDoorClient, httpx.Client):
    """``httpx.Client`` that talks to a Lambda handler the way ALB does (see the module doc)."""

    _transport_class = ALBTransport


class AsyncALBClient(_FrontDoorClient, httpx.AsyncClient):
    """``httpx.AsyncClient`` that talks to a Lambda handler the way ALB does, for tests running in
    an event loop (pytest-asyncio, anyio). The handler runs in a worker thread; build it outside
    the loop (at module level, as Lambda does, or in a synchronous fixture), since an
    ``ASGIHandler`` runs an event loop of its own. Closing the client leaves the handler open:
    whoever built it closes it."""

    _transport_class = AsyncALBTransport
