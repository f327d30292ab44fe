"""Why an ALB identity was refused: one class per failure, all under ``AuthenticationError`` (and so
under ``alb_adapter.AdapterError``).

The messages say what was wrong in general terms and never quote the token, its header fields or
its claims: an error message ends up in logs, and the token carries personal data (the claims)
and is a bearer credential for as long as it has not expired.
"""

from __future__ import annotations

from typing import ClassVar

from ..errors import AdapterError


class AuthenticationError(AdapterError):
    """The request's ALB identity could not be trusted.

    ``status`` is the HTTP status a server should answer: 401 when the request's identity is
    missing or bad, 503 when the identity could not be checked at all (the load balancer's public
    key could not be fetched), which is the server's problem, not the user's.
    """

    status: ClassVar[int] = 401


class MissingIdentityHeader(AuthenticationError):
    """The request has no ``x-amzn-oidc-data`` header: it did not pass through an ALB rule with an
    ``authenticate-oidc`` or ``authenticate-cognito`` action (or that action's
    ``on-unauthenticated-request`` is ``allow`` and the user is not signed in)."""


class MalformedToken(AuthenticationError):
    """The header is not a token ALB could have made: not three base64url segments, not JSON
    objects, a header field missing or of the wrong type, several ``x-amzn-oidc-data`` headers."""


class WrongAlgorithm(AuthenticationError):
    """The token's ``alg`` is not ``ES256``, the only algorithm ALB signs with. Refusing every
    other one (``none``, ``HS256`` with the public key used as an HMAC secret, ``RS256``...) is
    what stops algorithm-confusion forgeries."""


class WrongSigner(AuthenticationError):
    """The token's ``signer`` is not one of the configured load balancer ARNs: it was signed by
    another load balancer (perhaps someone else's, in the same region, with a genuine key)."""


class TokenExpired(AuthenticationError):
    """The token's ``exp`` (in the token's header, where ALB puts it) has passed, beyond the
    verifier's leeway."""


class WrongIssuer(AuthenticationError):
    """The token's ``iss`` is not the configured identity provider's issuer."""


class WrongClient(AuthenticationError):
    """The token's ``client`` is not the configured OAuth client id."""


class UnknownKeyId(AuthenticationError):
    """No public key exists for the token's ``kid``: the key source has none, or the region's key
    endpoint answered 404 (or 403, which is how S3, serving GovCloud's keys, says "no such
    object")."""


class BadSignature(AuthenticationError):
    """The signature does not match the token's header and payload under the public key for its
    ``kid``: the token was altered, or signed with another key."""


class UntrustedFrontDoor(AuthenticationError):
    """The request did not come through ALB, so its identity headers prove nothing. Only ALB
    signs users in and sets ``x-amzn-oidc-*`` itself; API Gateway, Function URLs and VPC Lattice
    pass on whatever headers the client sent, and a genuine token copied from an ALB request
    would verify there. Raised by the handlers' ``identity`` option (alb_adapter/auth/gate.py),
    never by the verifier, which cannot know where the headers came from."""


class KeyFetchFailed(AuthenticationError):
    """The public key for the token's ``kid`` could not be obtained or used: the endpoint timed
    out, could not be reached or answered an error, or what it (or an injected key source) gave is
    not an EC P-256 public key in PEM. The token may be fine; the server could not check it."""

    status: ClassVar[int] = 503
