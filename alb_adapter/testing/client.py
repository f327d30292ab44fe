"""ALBClient: an httpx.Client whose requests go through a Lambda handler exactly as ALB sends them.

    client = ALBClient(handler, multi_value_headers=True)
    assert client.get("/account/profile").status_code == 200

Each request becomes the event ALB would build; the handler's answer is judged as ALB judges it,
so a test fails with a 502 wherever a real load balancer would answer 502 (a null, a non-string
header, headers in the wrong field, a response over 1 MB...). The reason is sent in the
``x-alb-emulator-error`` header (a function that raises is also logged on ``alb_adapter.emulator``).
Header bytes travel as through the local ALB: the event carries the request's header bytes decoded
as UTF-8 (others are refused, as ALB refuses them), and the response's header values are sent as
UTF-8 bytes.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..emulator.invocation import (
    Handler,
    Outcome,
    event_or_error,
    front_door,
    invoke,
    response_head,
)
from ..sources.alb.balancer import EXAMPLE_CLIENT_IP

# A reserved name (RFC 2606): test logs never look like traffic to a real site.
DEFAULT_BASE_URL = "https://alb-adapter.test"
ERROR_HEADER = "x-alb-emulator-error"


class ALBTransport(httpx.BaseTransport):
    """The httpx transport: HTTP request -> ALB event -> handler -> ALB's judgement -> response."""

    def __init__(
        self,
        handler: Handler,
        *,
        multi_value_headers: bool = False,
        client_ip: str = EXAMPLE_CLIENT_IP,
        timeout: float = 30.0,
    ) -> None:
        self.handler = handler
        self.multi_value_headers = multi_value_headers
        self.client_ip = client_ip
        self.timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        url = request.url
        # The bytes as sent, one character per byte, as the local ALB reads them from uvicorn;
        # event_or_error decodes them as UTF-8 for the event, as ALB does.
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]
        # httpx adds Host itself; ALB lowercases the host it forwards.
        outcome = front_door(request.method, headers, len(body))
        if outcome is None:
            event = event_or_error(
                request.method,
                url.raw_path.decode("ascii").partition("?")[0] or "/",
                url.query.decode("ascii"),
                headers,
                body,
                client_ip=self.client_ip,
                scheme=url.scheme,
                port=url.port or (443 if url.scheme == "https" else 80),
                multi_value_headers=self.multi_value_headers,
            )
            if isinstance(event, Outcome):
                outcome = event
            else:
                outcome = invoke(
                    self.handler,
                    event,
                    multi_value_headers=self.multi_value_headers,
                    timeout=self.timeout,
                )
        # Bytes, not text: httpx would encode text as ASCII and fail on a function's "Zoë".
        headers_out = response_head(outcome)
        if outcome.reason:
            headers_out.append((ERROR_HEADER.encode(), outcome.reason.encode("ascii", "replace")))
        return httpx.Response(
            outcome.status,
            headers=headers_out,
            content=outcome.body,
            request=request,
        )


class ALBClient(httpx.Client):
    """``httpx.Client`` that talks to a Lambda handler the way ALB does (see the module doc)."""

    def __init__(
        self,
        handler: Handler,
        *,
        multi_value_headers: bool = False,
        client_ip: str = EXAMPLE_CLIENT_IP,
        timeout: float = 30.0,
        base_url: str = DEFAULT_BASE_URL,
        **client_options: Any,
    ) -> None:
        transport = ALBTransport(
            handler,
            multi_value_headers=multi_value_headers,
            client_ip=client_ip,
            timeout=timeout,
        )
        super().__init__(transport=transport, base_url=base_url, **client_options)
