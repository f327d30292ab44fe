"""The invocation flow both handlers share: event -> source -> Request -> app -> Response -> the
source's answer.

Everything that must hold whatever the app protocol lives here once: a bad body answers 400
without calling the app, health checks can be answered without it, so can a request whose ALB
identity the ``identity`` option requires and cannot verify (401), any app failure becomes a
well-formed 500 in the format the front door expects, and an oversized answer becomes an
explained 502 instead of an opaque one.
"""

from __future__ import annotations

from .config import Config
from .errors import (
    AppError,
    HandlerClosed,
    InvalidBody,
    InvalidEvent,
    ResponseTooLarge,
    UnsupportedEvent,
)
from .log import logger
from .model import plain_response
from .sources import find_source
from .watchdog import WATCHDOG

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

    from typing_extensions import Unpack

    from .auth.gate import IdentityGate
    from .config import ConfigOptions, ExtraKeys
    from .model import Request, Response


class BaseHandler:
    """A Lambda handler: call it with ``(event, context)`` and return what it returns.

    ``close()`` (or the end of a ``with`` block) releases what the handler holds; a closed
    handler refuses further calls. In Lambda there is no need to call it: the process ends, and
    handlers still alive then are shut down at exit.
    """

    __slots__ = ("__weakref__", "_closed", "_identity_gate", "config")

    config: Config
    _identity_gate: IdentityGate | None

    def __init__(self, **options: Unpack[ConfigOptions]) -> None:
        try:
            self.config = Config(**options)
        except TypeError:
            # Python's own message ("unexpected keyword argument") says nothing to someone
            # arriving with another adapter's options: name what to use here instead.
            known = [name for name in Config.__slots__ if not name.startswith("_")]
            unknown = [name for name in options if name not in known]
            if not unknown:
                raise  # a known option with a wrong type: Config's message says so
            from .compat import unknown_options_error  # only a failing construction needs it

            raise unknown_options_error(type(self).__name__, unknown, sorted(known)) from None
        self._closed = False
        self._identity_gate = None
        if self.config.identity is not None:
            from .auth.gate import IdentityGate  # only this option needs it (and its extra)

            self._identity_gate = IdentityGate(
                self.config.identity,
                required=self.config.identity_required,
                reraise=self.config.raise_app_exceptions,
            )

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return self._closed

    def close(self) -> None:
        """Release what the handler holds (idempotent); further calls raise HandlerClosed."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def respond(
        self, request: Request, remaining: float | None, extra_keys: ExtraKeys | None
    ) -> Response:
        """Run the application on one request (implemented per app protocol); ``remaining`` is
        the seconds left before Lambda ends the invocation, or None without a Lambda context;
        ``extra_keys`` adds this request's keys to the environ or scope: the ``extra_keys``
        option's, or, with the ``identity`` option, the identity's and then those."""
        raise NotImplementedError

    def __call__(self, event: object, context: object = None) -> dict[str, object]:
        if self._closed:
            raise HandlerClosed(f"{type(self).__name__} was closed: build a new handler to call")
        config = self.config
        try:
            source = find_source(event)
        except UnsupportedEvent:
            if config.non_http_handler is None:
                raise
            return config.non_http_handler(event, context)
        render_response = source.render_response
        try:
            request = source.parse_event(event, context, config)
        except InvalidBody as exc:
            exc.source = source.label
            logger().warning("answering 400 without calling the app: %s", exc)
            assert exc.request is not None  # noqa: PT017 (every source sets it)
            return render_response(
                plain_response(400, "Bad Request: the request body could not be decoded.\n"),
                exc.request,
                config,
            )
        except InvalidEvent as exc:
            exc.source = source.label  # the shared field readers cannot know which source it is
            raise
        if (
            request.health_check
            and config.health_check_path is not None
            and request.raw_path == config.health_check_path
        ):
            return render_response(plain_response(200, "OK\n"), request, config)

        extra_keys = config.extra_keys
        identity_gate = self._identity_gate
        if identity_gate is not None:  # all the identity option costs a handler without it
            # Before the remaining time is read, so the app's deadline counts what a key fetch
            # took; in ASGIHandler before its loop runs, so the fetch blocks no app code.
            refusal, extra_keys = identity_gate.admit(request, extra_keys)
            if refusal is not None:
                return render_response(refusal, request, config)

        remaining = remaining_seconds(context)
        if remaining is not None:
            request_id = getattr(context, "aws_request_id", "unknown")
            watch = WATCHDOG.watch(remaining, (request.method, request.raw_path, request_id))
        try:
            response = self.respond(request, remaining, extra_keys)
        except (SystemExit, KeyboardInterrupt):
            raise  # the process is being stopped: not the app's answer to this request
        except BaseException:
            # BaseException, not Exception: an asyncio.CancelledError from the app's own tasks (a
            # shared task cancelled by an earlier request, say) is its failure too, and escaping
            # the handler would make every later request a Lambda error (ALB: 502).
            if config.raise_app_exceptions:
                raise
            logger().exception(
                "%s %s: the application failed; answering 500", request.method, request.raw_path
            )
            response = _internal_error()
        finally:
            if remaining is not None:
                WATCHDOG.release(watch)
        try:
            return render_response(response, request, config)
        except AppError:
            if config.raise_app_exceptions:
                raise
            logger().exception(
                "%s %s: the application's response cannot be sent through %s; answering 500",
                request.method,
                request.raw_path,
                source.label,
            )
            return render_response(_internal_error(), request, config)
        except ResponseTooLarge as exc:
            logger().error(
                "%s %s: %s; %s would fail it without a word, answering 502 with a reason",
                request.method,
                request.raw_path,
                exc,
                source.label,
            )
            return render_response(
                plain_response(
                    502,
                    f"Bad Gateway: the response is larger than {source.label} accepts "
                    f"({exc.part}: {exc.size} bytes, limit {exc.limit}).\n",
                ),
                request,
                config,
            )


def remaining_seconds(context: object) -> float | None:
    """Seconds until Lambda ends this invocation, from the context's
    ``get_remaining_time_in_millis()``; None without one (tests, hand-made contexts)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return float(remaining()) / 1000
    except (TypeError, ValueError):
        return None


def _internal_error() -> Response:
    return plain_response(500, "Internal Server Error\n")
