"""Tokens made exactly as ALB makes them, for tests and for the local ALB.

    from alb_adapter.auth.testing import ALBTokenSigner
    signer = ALBTokenSigner()                       # a fresh P-256 key pair and a kid
    verifier = signer.verifier()                    # trusts this signer's ARN and key
    headers = signer.headers({"sub": "ada", "email": "ada@example.com"})
    assert verifier.verify(headers).email == "ada@example.com"

A token's header carries ``alg`` (ES256), ``kid``, ``signer`` (the load balancer's ARN), ``iss``,
``client`` and ``exp``; the payload carries the claims; each segment is base64url with its ``=``
padding, and the signature covers the padded text, as ALB does. ``key_source`` is what a verifier
takes to trust the key without any network.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from .crypto import PrivateKey, new_private_key, public_key_pem, sign_es256
from .token import encode_segment
from .verifier import ACCESS_TOKEN_HEADER, DATA_HEADER, ALBIdentityVerifier

if TYPE_CHECKING:
    from collections.abc import Mapping

EXAMPLE_LOAD_BALANCER_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/example/50dc6c495c0c9188"
)
EXAMPLE_ISSUER = "https://idp.example.test"
EXAMPLE_CLIENT_ID = "example-client"
IDENTITY_HEADER = "x-amzn-oidc-identity"

# How long a token made here is valid. ALB's own lifetime is not documented; a short one is what
# it behaves like (a fresh token on every request), and what keeps tests honest about expiry.
DEFAULT_LIFETIME = 120


class ALBTokenSigner:
    """One load balancer's signing key: makes ``x-amzn-oidc-data`` tokens and the headers ALB
    adds, and gives verifiers the public key (``key_source``, ``public_key_pem``).

    ``kid`` defaults to a fresh UUID (ALB's kids are UUIDs); ``private_key`` to a new P-256 key.
    """

    def __init__(
        self,
        *,
        signer: str = EXAMPLE_LOAD_BALANCER_ARN,
        issuer: str = EXAMPLE_ISSUER,
        client_id: str = EXAMPLE_CLIENT_ID,
        kid: str | None = None,
        private_key: PrivateKey | None = None,
    ) -> None:
        self.signer = signer
        self.issuer = issuer
        self.client_id = client_id
        self.kid = str(uuid.uuid4()) if kid is None else kid
        self.private_key = new_private_key() if private_key is None else private_key
        self.public_key_pem = public_key_pem(self.private_key)

    def __repr__(self) -> str:
        return f"ALBTokenSigner(signer={self.signer!r}, kid={self.kid!r})"

    @property
    def key_source(self) -> dict[str, str]:
        """``{kid: PEM}``: give it to ``ALBIdentityVerifier(key_source=...)``."""
        return {self.kid: self.public_key_pem}

    def verifier(self, **options: Any) -> ALBIdentityVerifier:
        """A verifier that trusts this signer (its ARN, key, issuer and client id); ``options``
        go to ALBIdentityVerifier and replace those defaults."""
        settings: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "key_source": self.key_source,
        }
        settings.update(options)
        return ALBIdentityVerifier(self.signer, **settings)

    def token(
        self,
        claims: Mapping[str, object],
        *,
        expires_at: float | None = None,
        now: float | None = None,
        lifetime: int = DEFAULT_LIFETIME,
        header: Mapping[str, object] | None = None,
        padded: bool = True,
    ) -> str:
        """An ``x-amzn-oidc-data`` value for ``claims``, valid for ``lifetime`` seconds from
        ``now`` (the current time by default), or until ``expires_at``.

        ``header`` adds or replaces header fields (a test's tampering: another ``signer``,
        ``alg``...), still signed with this key; ``padded=False`` writes the segments without
        ``=``, as a standard JWT library would (and signs that text).
        """
        if expires_at is None:
            expires_at = int(time.time() if now is None else now) + lifetime
        fields: dict[str, object] = {
            "alg": "ES256",
            "kid": self.kid,
            "signer": self.signer,
            "iss": self.issuer,
            "client": self.client_id,
            "exp": expires_at,
        }
        fields.update(header or {})
        return self.sign(fields, claims, padded=padded)

    def sign(
        self, header: Mapping[str, object], payload: Mapping[str, object], *, padded: bool = True
    ) -> str:
        """``header.payload.signature`` for exactly these fields, signed ES256 with this key."""
        signing_input = ".".join(
            encode_segment(_compact_json(part), padded=padded) for part in (header, payload)
        )
        signature = sign_es256(self.private_key, signing_input.encode("ascii"))
        return f"{signing_input}.{encode_segment(signature, padded=padded)}"

    def headers(
        self,
        claims: Mapping[str, object],
        *,
        access_token: str = "example-access-token",  # noqa: S107 - a placeholder, not a secret
        **token_options: Any,
    ) -> dict[str, str]:
        """The three headers ALB adds to a signed-in request: the access token, the identity
        (``sub``, unsigned) and the signed claims (``token_options`` go to ``token``)."""
        result = {ACCESS_TOKEN_HEADER: access_token}
        subject = claims.get("sub")
        if isinstance(subject, str):
            result[IDENTITY_HEADER] = subject
        result[DATA_HEADER] = self.token(claims, **token_options)
        return result


def _compact_json(value: Mapping[str, object]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")
