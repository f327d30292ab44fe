"""ALB authentication: verify the identity an ``authenticate-oidc`` / ``authenticate-cognito``
action passes to the function, and sign users out of it.

    from alb_adapter.auth import ALBIdentityVerifier, AuthenticationError
    verifier = ALBIdentityVerifier(LOAD_BALANCER_ARN)      # built once, at import
    try:
        identity = verifier.verify(request.headers)        # Flask, Django, Starlette, pairs
    except AuthenticationError as error:
        return "Unauthorized", error.status                # 401 (503: key unavailable)
    identity.subject, identity.email, identity.claims

Or let the handler verify every request, answering 401 without calling the app:

    handler = WSGIHandler(app, identity=verifier)          # or ASGIHandler
    identity = environ[IDENTITY_KEY]                       # scope[...]: "alb_adapter.identity"

Signing out: ALB's session cookies expired, then the provider's logout page:

    from alb_adapter.auth import logout_response
    status, headers = logout_response(cognito_logout_url(DOMAIN, CLIENT_ID, SIGNED_OUT_PAGE))

The verifier needs the ``auth`` extra (``pip install 'alb-adapter[auth]'``, which adds
``cryptography``); the errors, ``Identity`` and the logout helpers do not, and nothing imports
this package unless you do (``import alb_adapter`` stays free of it). Tokens for tests, made as
ALB makes them: ``alb_adapter.auth.testing``. The details: docs/auth.md.
"""

from __future__ import annotations

from .errors import (
    AuthenticationError,
    BadSignature,
    KeyFetchFailed,
    MalformedToken,
    MissingIdentityHeader,
    TokenExpired,
    UnknownKeyId,
    UntrustedFrontDoor,
    WrongAlgorithm,
    WrongClient,
    WrongIssuer,
    WrongSigner,
)
from .identity import IDENTITY_KEY, Identity
from .logout import LogoutResponse, cognito_logout_url, logout_response

TYPE_CHECKING = False  # typing.TYPE_CHECKING, spelled as the rest of the package spells it

if TYPE_CHECKING:
    from .keys import public_key_url
    from .verifier import ALBIdentityVerifier

__all__ = [
    "IDENTITY_KEY",
    "ALBIdentityVerifier",
    "AuthenticationError",
    "BadSignature",
    "Identity",
    "KeyFetchFailed",
    "LogoutResponse",
    "MalformedToken",
    "MissingIdentityHeader",
    "TokenExpired",
    "UnknownKeyId",
    "UntrustedFrontDoor",
    "WrongAlgorithm",
    "WrongClient",
    "WrongIssuer",
    "WrongSigner",
    "cognito_logout_url",
    "logout_response",
    "public_key_url",
]


def __getattr__(name: str) -> object:
    # These need cryptography (the auth extra): imported on first use, so that the errors and the
    # logout helpers work without it, and a missing extra is reported by name when it matters.
    if name == "ALBIdentityVerifier":
        from .verifier import ALBIdentityVerifier

        return ALBIdentityVerifier
    if name == "public_key_url":
        from .keys import public_key_url

        return public_key_url
    raise AttributeError(f"module 'alb_adapter.auth' has no attribute {name!r}")
