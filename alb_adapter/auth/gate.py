"""The handlers' ``identity`` option: ALB's identity headers verified before the app is called.

    handler = WSGIHandler(app, identity=ALBIdentityVerifier(LOAD_BALANCER_ARN))
    environ["alb_adapter.identity"]          # the verified Identity (scope["alb_adapter.identity"])

``BaseHandler.__call__`` (alb_adapter/handler.py) asks the gate about every request the app would
be called for (not the health checks ``health_check_path`` answers), before Lambda's remaining
time is read, so that the app's deadline (ASGIHandler's 504) counts what a key fetch took.
A request whose identity does not verify gets:

- required (the default): a request whose identity does not verify is answered 401 (the error's
  ``status``: 503 when the public key could not be fetched) without calling the app;
- optional (``identity_required=False``): the app is called either way, with the Identity or
  with None.

Either way the app finds the result under ``IDENTITY_KEY`` in its environ or scope. The gate hands
the handler the function that adds it (before the ``extra_keys`` option's own keys), so a handler
without the option pays one None check and nothing else.

Only requests that came through ALB are verified: behind any other front door the headers are
the client's own (``UntrustedFrontDoor``). Nothing here logs a header value: a refusal is logged
as the error's class and message, which quote nothing from the token (alb_adapter/auth/errors.py).
"""

from __future__ import annotations

from ..log import logger
from ..model import REASON_PHRASES, plain_response
from ..sources import all_sources
from ..sources.alb.request import SOURCE_NAME as ALB_SOURCE
from .errors import AuthenticationError, MissingIdentityHeader, UntrustedFrontDoor
from .identity import IDENTITY_KEY

TYPE_CHECKING = False  # typing.TYPE_CHECKING, spelled as the rest of the package spells it

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..model import Request, Response
    from .identity import Identity
    from .verifier import ALBIdentityVerifier

    # The per-request keys function the handlers take (alb_adapter/config.py's ExtraKeys).
    ExtraKeys = Callable[[Request], Mapping[str, object]]

_INFO, _WARNING, _DEBUG = 20, 30, 10  # logging's levels, without importing logging

# What the client reads: short, and the same whatever the reason (the log says which).
_REFUSAL_TEXT = {503: "Service Unavailable: the sign-in could not be checked.\n"}

_HEALTH_CHECK_HINT = (
    " (an ALB health check: set health_check_path to the target group's health-check path, "
    "so that the adapter answers it)"
)


class IdentityGate:
    """Verifies each request's ALB identity for a handler, and says what the app gets.

    ``verifier`` checks the headers; ``required`` decides what a request without a verified
    identity gets (401 / 503, or the app with None); ``reraise`` (the handler's
    ``raise_app_exceptions``) lets an unexpected failure of the check itself propagate instead of
    answering 500, for tests.
    """

    __slots__ = ("required", "reraise", "verifier")

    def __init__(self, verifier: ALBIdentityVerifier, *, required: bool, reraise: bool) -> None:
        self.verifier = verifier
        self.required = required
        self.reraise = reraise

    def __repr__(self) -> str:
        return f"IdentityGate({self.verifier!r}, required={self.required})"

    def admit(
        self, request: Request, extra_keys: ExtraKeys | None
    ) -> tuple[Response | None, ExtraKeys | None]:
        """``(None, keys)`` when the app is to be called, ``keys`` being the function that adds
        the identity and then ``extra_keys``' keys to its environ or scope; ``(refusal, None)``
        when the request is answered without the app."""
        identity: Identity | None
        try:
            identity = self.identify(request)
        except AuthenticationError as error:
            if self.required:
                return self._refusal(request, error), None
            if isinstance(error, MissingIdentityHeader | UntrustedFrontDoor):
                level = _DEBUG  # nobody is signed in: what optional means, nothing to report
            else:
                level = _WARNING if error.status >= 500 else _INFO
            logger().log(
                level,
                "%s %s: calling the app without an identity: %s: %s",
                request.method,
                request.raw_path,
                type(error).__name__,
                error,
            )
            identity = None
        except Exception:
            # A key_source callable that raised something else, or a bug: not the client's
            # failure, and not one to guess an identity over.
            if self.reraise:
                raise
            logger().exception(
                "%s %s: checking the ALB identity failed; answering 500 without calling the app",
                request.method,
                request.raw_path,
            )
            return plain_response(500, "Internal Server Error\n"), None
        return None, _keys_with_identity(identity, extra_keys)

    def identify(self, request: Request) -> Identity:
        """The request's verified identity; an AuthenticationError when there is none to trust."""
        if request.source != ALB_SOURCE:
            label = next(
                (source.label for source in all_sources() if source.name == request.source),
                request.source,
            )
            raise UntrustedFrontDoor(
                f"the request came through {label}, which passes on the client's own "
                "x-amzn-oidc-* headers: only ALB's can be trusted"
            )
        return self.verifier.verify(request.headers)

    def _refusal(self, request: Request, error: AuthenticationError) -> Response:
        status = error.status
        logger().log(
            _WARNING if status >= 500 else _INFO,
            "%s %s: answering %d without calling the app: %s: %s%s",
            request.method,
            request.raw_path,
            status,
            type(error).__name__,
            error,
            _HEALTH_CHECK_HINT if request.health_check else "",
        )
        text = _REFUSAL_TEXT.get(status) or f"{REASON_PHRASES.get(status, 'Unauthorized')}\n"
        return plain_response(status, text)


def _keys_with_identity(identity: Identity | None, extra_keys: ExtraKeys | None) -> ExtraKeys:
    """The keys function for one request: the identity first, then the ``extra_keys`` option's
    (last, as without the gate: the app's own function has the last word)."""

    def keys(request: Request) -> dict[str, object]:
        added: dict[str, object] = {IDENTITY_KEY: identity}
        if extra_keys is not None:
            added.update(extra_keys(request))
        return added

    return keys
