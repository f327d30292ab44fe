"""What a verified ``x-amzn-oidc-data`` token says about the user: the result the app reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Where the handlers' ``identity`` option puts the verified Identity (None when optional and there
# is none) for the app: ``environ[IDENTITY_KEY]`` (WSGI), ``scope[IDENTITY_KEY]`` (ASGI).
IDENTITY_KEY = "alb_adapter.identity"


@dataclass(frozen=True)
class Identity:
    """The signed-in user, as the load balancer vouched for them on this request.

    ``claims`` are the identity provider's user-info claims (``sub``, ``email``, ``name``,
    ``groups``..., whatever the provider returns), all covered by the load balancer's signature;
    ``subject`` is ``claims["sub"]`` and ``email`` is ``claims["email"]`` when the provider gave
    a string there. ``signer`` (the load balancer's ARN), ``issuer``, ``client_id`` and
    ``expires_at`` (Unix seconds) come from the token's signed header.

    ``access_token`` is the ``x-amzn-oidc-accesstoken`` header as received, for calling the
    provider or an API on the user's behalf. ALB does not sign it: whoever accepts it (the
    provider, your API) verifies it. It is a bearer credential, so it is left out of ``repr``.
    """

    subject: str
    claims: dict[str, Any]
    email: str | None
    signer: str
    issuer: str | None
    client_id: str | None
    expires_at: float
    access_token: str | None = field(default=None, repr=False)
