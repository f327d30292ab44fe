"""Verify the identity an ALB ``authenticate-oidc`` / ``authenticate-cognito`` action passes on.

After signing a user in, the load balancer adds ``x-amzn-oidc-data`` to every request it forwards:
the user-info claims as a token it signs itself (ES256), whose header names the signing load
balancer (``signer``), the key (``kid``), the provider (``iss``), the OAuth client (``client``)
and the expiry (``exp``). Anyone who can reach the function can send that header too, so nothing
in it means anything until this verifier has checked, in this order (cheap refusals first, the
network last): the encoding, ``alg`` (ES256 only), ``signer`` (one of the configured load
balancers), ``exp`` (with a small leeway for clock skew), ``iss`` and ``client`` (when
configured), and then the signature, under the public key for ``kid``.

    verifier = ALBIdentityVerifier("arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                                   "loadbalancer/app/shop/50dc6c495c0c9188")
    identity = verifier.verify(request.headers)       # Identity, or an AuthenticationError
    identity.subject, identity.email, identity.claims["name"]

The wire format and why it is read by hand: ``alb_adapter/auth/token.py``; where keys come from:
``alb_adapter/auth/keys.py``; the whole story: docs/auth.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from .crypto import PublicKey, verify_es256
from .errors import (
    BadSignature,
    MalformedToken,
    MissingIdentityHeader,
    TokenExpired,
    WrongAlgorithm,
    WrongClient,
    WrongIssuer,
    WrongSigner,
)
from .identity import Identity
from .keys import (
    KID,
    REGION,
    InjectedKeys,
    KeySource,
    check_endpoint,
    fetch_public_key,
    region_endpoint,
)
from .token import decode_json_object, decode_segment, read_number, read_text, split_token

DATA_HEADER = "x-amzn-oidc-data"
ACCESS_TOKEN_HEADER = "x-amzn-oidc-accesstoken"  # noqa: S105 - a header name

# What verify() reads headers from: any mapping (Flask's, Django's and Starlette's request.headers,
# a dict) or (name, value) pairs, as str (alb_adapter's Request.headers, Werkzeug's Headers) or as
# bytes (an ASGI scope's "headers"). Names are compared case-insensitively.
HeaderSource: TypeAlias = (
    Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]
)

ALGORITHM = "ES256"
DEFAULT_LEEWAY = 10.0  # seconds: clock skew between the load balancer and the function
MAX_LEEWAY = 300.0
DEFAULT_FETCH_TIMEOUT = 2.0  # seconds, for each network step of a key fetch

_LOAD_BALANCER_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:elasticloadbalancing:(?P<region>[a-z0-9-]+):[0-9]{12}:"
    r"loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,32}"
)


class ALBIdentityVerifier:
    """Checks ``x-amzn-oidc-data`` and returns the signed-in user's ``Identity``.

    ``load_balancer_arns``: the ARN (or ARNs) of the application load balancers whose tokens are
    trusted; the token's ``signer`` must be one of them exactly. This is the check AWS insists
    on: the keys of every load balancer in a region are published at the same endpoint, so
    without it a genuine token from any other load balancer (anyone's) would verify.

    ``issuer`` and ``client_id``: when given, the token's ``iss`` and ``client`` must equal them
    (the provider's issuer URL and the OAuth client id configured on the action).

    ``leeway``: seconds a token is still accepted after its ``exp``, for clock skew (at most 300).

    Keys, one of (the default is the first):

    - nothing: each ARN's region's endpoint (``https://public-keys.auth.elb.<region>.amazonaws.com/
      <kid>``; GovCloud's S3 buckets), fetched with ``fetch_timeout`` seconds per network step and
      kept for the life of the process;
    - ``key_source``: a mapping of kid to PEM (or a loaded key), or a callable taking the kid and
      returning one, or None when it knows no such kid; for functions without internet egress,
      tests (``alb_adapter.auth.testing``) and the local ALB;
    - ``key_endpoint``: another base URL serving ``<key_endpoint>/<kid>`` (https, or http on
      127.0.0.1), fetched and kept like AWS's.

    ``clock`` returns the current Unix time (tests pass a fixed one).
    """

    __slots__ = ("_clock", "_endpoints", "_injected", "client_id", "issuer", "leeway", "timeout")

    def __init__(
        self,
        load_balancer_arns: str | Iterable[str],
        *,
        issuer: str | None = None,
        client_id: str | None = None,
        leeway: float = DEFAULT_LEEWAY,
        key_source: KeySource | None = None,
        key_endpoint: str | None = None,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        arns = (
            [load_balancer_arns] if isinstance(load_balancer_arns, str) else [*load_balancer_arns]
        )
        if not arns:
            raise ValueError("load_balancer_arns is empty: name the load balancers to trust")
        for name, value in (("issuer", issuer), ("client_id", client_id)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string or None")
        if isinstance(leeway, bool) or not isinstance(leeway, int | float):
            raise TypeError(f"leeway must be a number of seconds, got {type(leeway).__name__}")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ValueError(
                f"leeway must be between 0 and {MAX_LEEWAY:g} seconds: it only absorbs clock skew"
            )
        if not fetch_timeout > 0:
            raise ValueError("fetch_timeout must be a positive number of seconds")
        if key_source is not None and key_endpoint is not None:
            raise ValueError("give key_source or key_endpoint, not both")

        self._endpoints: dict[str, str] = {}
        for arn in arns:
            match = _LOAD_BALANCER_ARN.fullmatch(arn) if isinstance(arn, str) else None
            if match is None or not REGION.fullmatch(match["region"]):
                raise ValueError(
                    f"not an application load balancer ARN: {arn!r} (expected "
                    "arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)"
                )
            if key_endpoint is not None:
                self._endpoints[arn] = check_endpoint(key_endpoint)
            elif key_source is None:
                self._endpoints[arn] = region_endpoint(match["region"])
            else:
                self._endpoints[arn] = ""
        self._injected = None if key_source is None else InjectedKeys(key_source)
        self.issuer = issuer
        self.client_id = client_id
        self.leeway = float(leeway)
        self.timeout = float(fetch_timeout)
        self._clock = clock

    @property
    def load_balancer_arns(self) -> tuple[str, ...]:
        """The ARNs whose tokens are trusted."""
        return tuple(self._endpoints)

    def __repr__(self) -> str:
        return (
            f"ALBIdentityVerifier({list(self._endpoints)!r}, issuer={self.issuer!r}, "
            f"client_id={self.client_id!r}, leeway={self.leeway:g})"
        )

    def verify(self, headers: HeaderSource) -> Identity:
        """The identity in a request's headers: ``x-amzn-oidc-data`` verified, and
        ``x-amzn-oidc-accesstoken`` passed along as ``Identity.access_token``.

        Raises MissingIdentityHeader when there is no ``x-amzn-oidc-data``, MalformedToken when
        either header appears more than once, else what ``verify_token`` raises.
        """
        found = _header_values(headers, (DATA_HEADER, ACCESS_TOKEN_HEADER))
        tokens = found[DATA_HEADER]
        if not tokens:
            raise MissingIdentityHeader(
                f"the request has no {DATA_HEADER} header: no ALB authenticate action signed it in"
            )
        access_tokens = found[ACCESS_TOKEN_HEADER]
        for name, values in found.items():
            if len(values) > 1:
                raise MalformedToken(f"the request has {len(values)} {name} headers")
        access_token = access_tokens[0] if access_tokens else None
        return self.verify_token(tokens[0], access_token=access_token)

    def verify_token(self, token: str, *, access_token: str | None = None) -> Identity:
        """Verify one ``x-amzn-oidc-data`` value and return its Identity.

        Raises (all AuthenticationError): MalformedToken, WrongAlgorithm, WrongSigner,
        TokenExpired, WrongIssuer, WrongClient, UnknownKeyId, KeyFetchFailed, BadSignature.
        """
        if not isinstance(token, str):
            raise MalformedToken(f"the token must be a str, got {type(token).__name__}")
        header_segment, payload_segment, signature_segment = split_token(token)
        header = decode_json_object(header_segment, "header")
        if header.get("alg") != ALGORITHM:
            raise WrongAlgorithm("the token's algorithm is not ES256, the only one ALB signs with")
        if "crit" in header:
            raise MalformedToken("the token's header has critical extensions, which ALB never sets")

        signer = read_text(header, "signer", "header")
        if signer is None or signer not in self._endpoints:
            raise WrongSigner("the token was not signed by one of the configured load balancers")
        kid = read_text(header, "kid", "header")
        if kid is None or not KID.fullmatch(kid):
            raise MalformedToken("the token's header has no valid 'kid'")
        expires_at = read_number(header, "exp")
        if self._clock() > expires_at + self.leeway:
            raise TokenExpired("the token has expired")
        issuer = read_text(header, "iss", "header")
        if self.issuer is not None and issuer != self.issuer:
            raise WrongIssuer("the token's issuer is not the configured identity provider")
        client_id = read_text(header, "client", "header")
        if self.client_id is not None and client_id != self.client_id:
            raise WrongClient("the token's client is not the configured OAuth client id")

        signature = decode_segment(signature_segment, "signature")
        claims = decode_json_object(payload_segment, "payload")
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        if not verify_es256(self._key(signer, kid), signing_input, signature):
            raise BadSignature("the token's signature does not match its header and payload")

        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise MalformedToken("the token's payload has no 'sub'")
        email = claims.get("email")
        return Identity(
            subject=subject,
            claims=claims,
            email=email if isinstance(email, str) else None,
            signer=signer,
            issuer=issuer,
            client_id=client_id,
            expires_at=expires_at,
            access_token=access_token,
        )

    def _key(self, signer: str, kid: str) -> PublicKey:
        if self._injected is not None:
            return self._injected.key_for(kid)
        return fetch_public_key(f"{self._endpoints[signer]}/{kid}", self.timeout)


def _header_values(headers: HeaderSource, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Every value of each wanted header (names lowercase), compared case-insensitively."""
    found: dict[str, list[str]] = {name: [] for name in names}
    pairs: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
        values = found.get(name.lower())
        if values is not None:
            values.append(
                raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
            )
    return found
