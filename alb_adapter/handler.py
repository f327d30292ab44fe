"""The invocation flow both handlers share: event -> source -> Request -> app -> Response -> the
source's answer.

Everything that must hold whatever the app protocol lives here once: a bad body answers 400
without calling the app, health checks can be answered without it, any app failure becomes a
well-formed 500 in the format the front door expects, and an oversized answer becomes an
explained 502 instead of an opaque one.
"""

from __future__ import annotations

from .config import Config
from .errors import AppError, InvalidBody, ResponseTooLarge
from .log import logger
from .model import plain_response
from .sources import find_source

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .config import ConfigOptions
    from .model import Request, Response


class BaseHandler:
    """A Lambda handler: call it with ``(event, context)`` and return what it returns."""

    __slots__ = ("config",)

    config: Config

    def __init__(self, **options: Unpack[ConfigOptions]) -> None:
        self.config = Config(**options)

    def respond(self, request: Request) -> Response:
        """Run the application on one request (implemented per app protocol)."""
        raise NotImplementedError

    def __call__(self, event: object, context: object = None) -> dict[str, object]:
        config = self.config
        source = find_source(event)
        render_response = source.render_response
        try:
            request = source.parse_event(event, context, config)
        except InvalidBody as exc:
            logger().warning("answering 400 without calling the app: %s", exc)
            assert exc.request is not None  # noqa: PT017 (every source sets it)
            return render_response(
                plain_response(400, "Bad Request: the request body could not be decoded.\n"),
                exc.request,
                config,
            )
        if (
            request.health_check
            and config.health_check_path is not None
            and request.raw_path == config.health_check_path
        ):
            return render_response(plain_response(200, "OK\n"), request, config)

        try:
            response = self.respond(request)
        except Exception:
            if config.raise_app_exceptions:
                raise
            logger().exception(
                "%s %s: the application failed; answering 500", request.method, request.raw_path
            )
            response = _internal_error()
        try:
            return render_response(response, request, config)
        except AppError:
            if config.raise_app_exceptions:
                raise
            logger().exception(
                "%s %s: the application's response cannot be sent through ALB; answering 500",
                request.method,
                request.raw_path,
            )
            return render_response(_internal_error(), request, config)
        except ResponseTooLarge as exc:
            logger().error(
                "%s %s: %s; ALB would answer an unexplained 502, answering 502 with a reason",
                request.method,
                request.raw_path,
                exc,
            )
            return render_response(
                plain_response(
                    502,
                    "Bad Gateway: the response is larger than the load balancer accepts "
                    f"({exc.part}: {exc.size} bytes, limit {exc.limit}).\n",
                ),
                request,
                config,
            )


def _internal_error() -> Response:
    return plain_response(500, "Internal Server Error\n")
