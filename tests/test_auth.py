"""alb_adapter.auth: verifying ALB's x-amzn-oidc-data identity, fetching its keys, signing out.

Tokens are made as ALB makes them (alb_adapter/auth/testing.py: ES256, padded base64url segments,
``signer``, ``kid``, ``exp`` in the header); each kind of tampering is refused with its own error
and a message that quotes nothing from the token. Keys are fetched from a real HTTP server on
127.0.0.1 (stopped after each test; its slow answer waits on an event the test releases). The
clock is injected, so no test depends on the time it runs at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from alb_adapter import AdapterError, ASGIHandler, WSGIHandler
from alb_adapter.auth import (
    ALBIdentityVerifier,
    AuthenticationError,
    BadSignature,
    Identity,
    KeyFetchFailed,
    LogoutResponse,
    MalformedToken,
    MissingIdentityHeader,
    TokenExpired,
    UnknownKeyId,
    WrongAlgorithm,
    WrongClient,
    WrongIssuer,
    WrongSigner,
    cognito_logout_url,
    logout_response,
    public_key_url,
)
from alb_adapter.auth.testing import (
    EXAMPLE_CLIENT_ID,
    EXAMPLE_ISSUER,
    EXAMPLE_LOAD_BALANCER_ARN,
    ALBTokenSigner,
)
from alb_adapter.auth.token import encode_segment
from alb_adapter.testing import LambdaContext, make_event, read_response

NOW = 1_800_000_000.0
OTHER_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:210987654321:loadbalancer/app/other/0123456789abcdef"
)
GOV_ARN = "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/gov/50dc6c495c0c9188"
# "Ada" claims whose JSON needs base64 padding, so the padded form is what the tests exercise.
CLAIMS: dict[str, Any] = {
    "sub": "ada-0001",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "groups": ["admin"],
}
ACCESS_TOKEN = "access-token-for-ada"


@pytest.fixture(scope="module")
def signer() -> ALBTokenSigner:
    return ALBTokenSigner()


@pytest.fixture
def verifier(signer: ALBTokenSigner) -> ALBIdentityVerifier:
    return signer.verifier(clock=lambda: NOW)


def alb_token(signer: ALBTokenSigner, **options: Any) -> str:
    claims = options.pop("claims", CLAIMS)
    options.setdefault("now", NOW)
    return signer.token(claims, **options)


def segment(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return encode_segment(raw)


def refusal(verifier: ALBIdentityVerifier, token: str) -> AuthenticationError:
    """The error verifying ``token`` raises, checked to quote nothing from the token."""
    with pytest.raises(AuthenticationError) as caught:
        verifier.verify_token(token)
    message = str(caught.value)
    for secret in (token, *token.split("."), CLAIMS["sub"], CLAIMS["email"], ACCESS_TOKEN):
        assert not secret or secret not in message
    return caught.value


# --- tokens made like ALB's ------------------------------------------------------------------


def test_a_token_made_like_albs_verifies_into_the_whole_identity(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    headers = signer.headers(CLAIMS, access_token=ACCESS_TOKEN, now=NOW)
    token = headers["x-amzn-oidc-data"]
    header_segment, payload_segment, signature_segment = token.split(".")
    assert (header_segment[-1], payload_segment[-2:], signature_segment[-2:]) == ("=", "==", "==")
    assert json.loads(base64.urlsafe_b64decode(header_segment)) == {
        "alg": "ES256",
        "kid": signer.kid,
        "signer": EXAMPLE_LOAD_BALANCER_ARN,
        "iss": EXAMPLE_ISSUER,
        "client": EXAMPLE_CLIENT_ID,
        "exp": int(NOW) + 120,
    }
    assert headers == {
        "x-amzn-oidc-accesstoken": ACCESS_TOKEN,
        "x-amzn-oidc-identity": "ada-0001",
        "x-amzn-oidc-data": token,
    }

    identity = verifier.verify(headers)

    assert identity == Identity(
        subject="ada-0001",
        claims=CLAIMS,
        email="ada@example.com",
        signer=EXAMPLE_LOAD_BALANCER_ARN,
        issuer=EXAMPLE_ISSUER,
        client_id=EXAMPLE_CLIENT_ID,
        expires_at=int(NOW) + 120,
        access_token=ACCESS_TOKEN,
    )
    assert ACCESS_TOKEN not in repr(identity)
    assert "ada@example.com" in repr(identity)


def test_email_is_none_when_the_provider_gives_none_or_not_a_string(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    for claims in ({"sub": "s"}, {"sub": "s", "email": ["a@example.com"]}):
        identity = verifier.verify_token(alb_token(signer, claims=claims))
        assert (identity.email, identity.claims, identity.access_token) == (None, claims, None)


def starlette_headers(headers: dict[str, str]) -> Any:
    from starlette.datastructures import Headers

    return Headers(headers=headers)


def werkzeug_headers(headers: dict[str, str]) -> Any:
    from werkzeug.datastructures import Headers

    return Headers(list(headers.items()))


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda headers: headers, id="dict"),
        pytest.param(lambda headers: {k.title(): v for k, v in headers.items()}, id="dict-title"),
        pytest.param(lambda headers: list(headers.items()), id="str-pairs"),
        pytest.param(
            lambda headers: [(k.encode(), v.encode()) for k, v in headers.items()], id="asgi"
        ),
        pytest.param(starlette_headers, id="starlette"),
        pytest.param(werkzeug_headers, id="werkzeug"),
    ],
)
def test_headers_are_read_from_any_framework_shape(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier, shape: Callable[[dict[str, str]], Any]
) -> None:
    headers = signer.headers(CLAIMS, access_token=ACCESS_TOKEN, now=NOW)
    identity = verifier.verify(shape({"accept": "text/html", **headers}))
    assert (identity.subject, identity.access_token) == ("ada-0001", ACCESS_TOKEN)


def test_a_request_without_the_header_is_refused(verifier: ALBIdentityVerifier) -> None:
    with pytest.raises(MissingIdentityHeader) as caught:
        verifier.verify({"x-amzn-oidc-identity": "ada-0001", "x-amzn-oidc-accesstoken": "t"})
    assert str(caught.value) == (
        "the request has no x-amzn-oidc-data header: no ALB authenticate action signed it in"
    )


@pytest.mark.parametrize("name", ["x-amzn-oidc-data", "x-amzn-oidc-accesstoken"])
def test_a_repeated_identity_header_is_refused(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier, name: str
) -> None:
    pairs = list(signer.headers(CLAIMS, now=NOW).items())
    pairs += [(name.upper(), dict(pairs)[name])]
    with pytest.raises(MalformedToken) as caught:
        verifier.verify(pairs)
    assert str(caught.value) == f"the request has 2 {name} headers"


# --- each tampering, its own error -------------------------------------------------------------


def test_a_changed_signature_is_a_bad_signature(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    header, payload, signature = alb_token(signer).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature))
    raw[10] ^= 1
    error = refusal(verifier, f"{header}.{payload}.{encode_segment(bytes(raw))}")
    assert type(error) is BadSignature
    assert str(error) == "the token's signature does not match its header and payload"


def test_changed_claims_are_a_bad_signature(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    header, _, signature = alb_token(signer).split(".")
    forged = segment({**CLAIMS, "groups": ["admin", "root"]})
    assert type(refusal(verifier, f"{header}.{forged}.{signature}")) is BadSignature


def test_a_token_signed_with_another_key_under_the_known_kid_is_a_bad_signature(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    impostor = ALBTokenSigner(kid=signer.kid)
    assert type(refusal(verifier, alb_token(impostor))) is BadSignature


def test_another_load_balancer_is_a_wrong_signer(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    # Another load balancer's genuine token (its own key) and this one's header with the signer
    # edited both stop at the signer check, before any key is looked up.
    elsewhere = ALBTokenSigner(signer=OTHER_ARN)
    _, payload, signature = alb_token(signer).split(".")
    edited = segment({"alg": "ES256", "kid": signer.kid, "signer": OTHER_ARN, "exp": NOW + 60})
    for token in (alb_token(elsewhere), f"{edited}.{payload}.{signature}"):
        error = refusal(verifier, token)
        assert type(error) is WrongSigner
        assert str(error) == "the token was not signed by one of the configured load balancers"


def test_several_load_balancers_can_be_trusted(signer: ALBTokenSigner) -> None:
    elsewhere = ALBTokenSigner(signer=OTHER_ARN)
    verifier = ALBIdentityVerifier(
        [EXAMPLE_LOAD_BALANCER_ARN, OTHER_ARN],
        key_source={**signer.key_source, **elsewhere.key_source},
        clock=lambda: NOW,
    )
    assert verifier.load_balancer_arns == (EXAMPLE_LOAD_BALANCER_ARN, OTHER_ARN)
    assert verifier.verify_token(alb_token(elsewhere)).signer == OTHER_ARN
    assert verifier.verify_token(alb_token(signer)).signer == EXAMPLE_LOAD_BALANCER_ARN


def test_expiry_is_refused_past_the_leeway_only(signer: ALBTokenSigner) -> None:
    verifier = signer.verifier(clock=lambda: NOW, leeway=10)
    assert verifier.verify_token(alb_token(signer, expires_at=NOW - 10)).subject == "ada-0001"
    error = refusal(verifier, alb_token(signer, expires_at=NOW - 11))
    assert (type(error), str(error)) == (TokenExpired, "the token has expired")
    strict = signer.verifier(clock=lambda: NOW, leeway=0)
    assert type(refusal(strict, alb_token(signer, expires_at=NOW - 1))) is TokenExpired


def test_alg_none_is_a_wrong_algorithm(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    header = {"alg": "none", "kid": signer.kid, "signer": EXAMPLE_LOAD_BALANCER_ARN, "exp": NOW}
    error = refusal(verifier, f"{segment(header)}.{segment(CLAIMS)}.")
    assert type(error) is WrongAlgorithm
    assert str(error) == "the token's algorithm is not ES256, the only one ALB signs with"


def test_hs256_with_the_public_key_as_secret_is_a_wrong_algorithm(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    # The classic confusion: a verifier that let the token pick its algorithm would check this
    # HMAC with the (public) PEM as the secret, and accept it.
    header = {"alg": "HS256", "kid": signer.kid, "signer": EXAMPLE_LOAD_BALANCER_ARN, "exp": NOW}
    signing_input = f"{segment(header)}.{segment(CLAIMS)}"
    mac = hmac.new(signer.public_key_pem.encode(), signing_input.encode(), hashlib.sha256)
    assert type(refusal(verifier, f"{signing_input}.{encode_segment(mac.digest())}")) is (
        WrongAlgorithm
    )


@pytest.mark.parametrize("alg", ["ES384", "RS256", "es256", "ES256 ", None, ["ES256"]])
def test_any_other_signed_algorithm_is_a_wrong_algorithm(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier, alg: object
) -> None:
    token = alb_token(signer, header={"alg": alg})
    assert type(refusal(verifier, token)) is WrongAlgorithm


def test_an_unknown_kid_is_refused(signer: ALBTokenSigner, verifier: ALBIdentityVerifier) -> None:
    stranger = ALBTokenSigner()  # same load balancer ARN, a kid the key source does not know
    error = refusal(verifier, alb_token(stranger))
    assert (type(error), str(error)) == (
        UnknownKeyId,
        "the key source has no public key for the token's kid",
    )


def test_issuer_and_client_are_checked_when_configured(signer: ALBTokenSigner) -> None:
    token = alb_token(signer, header={"iss": "https://evil.example", "client": "evil"})
    issuer_only = signer.verifier(clock=lambda: NOW, client_id=None)
    error = refusal(issuer_only, token)
    assert (type(error), str(error)) == (
        WrongIssuer,
        "the token's issuer is not the configured identity provider",
    )
    client_only = signer.verifier(clock=lambda: NOW, issuer=None)
    error = refusal(client_only, token)
    assert (type(error), str(error)) == (
        WrongClient,
        "the token's client is not the configured OAuth client id",
    )
    neither = signer.verifier(clock=lambda: NOW, issuer=None, client_id=None)
    identity = neither.verify_token(token)
    assert (identity.issuer, identity.client_id) == ("https://evil.example", "evil")


# --- the encoding: padded as ALB sends it, unpadded as JWS; nothing else --------------------------


def test_an_unpadded_token_verifies_over_the_text_it_was_signed_as(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    token = alb_token(signer, padded=False)
    assert "=" not in token
    assert verifier.verify_token(token).claims == CLAIMS


def test_stripping_albs_padding_breaks_the_signature(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    # ALB signs the padded text: what a "fix the padding" decoder would verify is not what was
    # signed, so the stripped token is refused (and the original, as received, is not).
    token = alb_token(signer)
    stripped = ".".join(part.rstrip("=") for part in token.split("."))
    assert stripped != token
    assert type(refusal(verifier, stripped)) is BadSignature
    assert verifier.verify_token(token).subject == "ada-0001"


def header_with(key: ALBTokenSigner, **changes: Any) -> dict[str, Any]:
    fields = {
        "alg": "ES256",
        "kid": key.kid,
        "signer": EXAMPLE_LOAD_BALANCER_ARN,
        "iss": EXAMPLE_ISSUER,
        "client": EXAMPLE_CLIENT_ID,
        "exp": NOW + 60,
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not ...}


MALFORMED: list[tuple[str, Callable[[ALBTokenSigner, str], str], str]] = [
    (
        "two segments",
        lambda s, t: t.rsplit(".", 1)[0],
        "the token is not three dot-separated segments",
    ),
    ("four segments", lambda s, t: t + ".e30=", "the token is not three dot-separated segments"),
    ("empty", lambda s, t: "", "the token is not three dot-separated segments"),
    ("oversized", lambda s, t: "a" * 40_000, "the token is over 32768 characters"),
    ("a standard base64 character", lambda s, t: "+" + t, "the token's header is not base64url"),
    ("a space", lambda s, t: " " + t, "the token's header is not base64url"),
    (
        "padding in the middle",
        lambda s, t: t.split(".")[0][:8] + "=" + t.split(".")[0][8:] + "." + t.split(".", 1)[1],
        "the token's header is not base64url",
    ),
    (
        "too much padding",
        lambda s, t: t.split(".")[0].rstrip("=") + "===." + t.split(".", 1)[1],
        "the token's header is not base64url",
    ),
    (
        "padding where none is needed",
        lambda s, t: "QUJD=." + ".".join(t.split(".")[1:]),
        "the token's header has the wrong length or padding",
    ),
    (
        "an impossible length",
        lambda s, t: "QUJDR." + ".".join(t.split(".")[1:]),
        "the token's header has the wrong length or padding",
    ),
    (
        "non-canonical bits",
        lambda s, t: "QR==." + ".".join(t.split(".")[1:]),
        "the token's header is not canonical base64url",
    ),
    (
        "a header that is not JSON",
        lambda s, t: encode_segment(b"{alg: ES256}") + "." + ".".join(t.split(".")[1:]),
        "the token's header is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)",
    ),
    (
        "a header that is not UTF-8",
        lambda s, t: encode_segment(b'{"alg":"\xff"}') + "." + ".".join(t.split(".")[1:]),
        "the token's header is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)",
    ),
    (
        "a header that is a JSON array",
        lambda s, t: segment(b'["ES256"]') + "." + ".".join(t.split(".")[1:]),
        "the token's header is not a JSON object",
    ),
    (
        "a duplicate header field",
        lambda s, t: segment(b'{"alg":"ES256","alg":"ES256"}') + "." + ".".join(t.split(".")[1:]),
        "the token's header is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)",
    ),
    (
        "critical extensions",
        lambda s, t: s.token(CLAIMS, now=NOW, header={"crit": ["b64"]}),
        "the token's header has critical extensions, which ALB never sets",
    ),
    (
        "no exp",
        lambda s, t: s.sign(header_with(s, exp=...), CLAIMS),
        "the token's header has no numeric 'exp'",
    ),
    (
        "exp as text",
        lambda s, t: s.sign(header_with(s, exp="1800000060"), CLAIMS),
        "the token's header has no numeric 'exp'",
    ),
    (
        "exp as a boolean",
        lambda s, t: s.sign(header_with(s, exp=True), CLAIMS),
        "the token's header has no numeric 'exp'",
    ),
    (
        "exp NaN (never expiring)",
        lambda s, t: (
            segment(json.dumps(header_with(s, exp=float("nan"))).encode())
            + "."
            + ".".join(t.split(".")[1:])
        ),
        "the token's header is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)",
    ),
    (
        "exp Infinity",
        lambda s, t: (
            segment(json.dumps(header_with(s, exp=float("inf"))).encode())
            + "."
            + ".".join(t.split(".")[1:])
        ),
        "the token's header is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)",
    ),
    (
        "exp out of range",
        lambda s, t: (
            segment(
                b'{"alg":"ES256","kid":"k","signer":"'
                + EXAMPLE_LOAD_BALANCER_ARN.encode()
                + b'","exp":1e999}'
            )
            + "."
            + ".".join(t.split(".")[1:])
        ),
        "the token's header has no numeric 'exp'",
    ),
    (
        "no kid",
        lambda s, t: s.sign(header_with(s, kid=...), CLAIMS),
        "the token's header has no valid 'kid'",
    ),
    (
        "a kid that walks out of the key bucket",
        lambda s, t: s.sign(header_with(s, kid="../other-bucket/key"), CLAIMS),
        "the token's header has no valid 'kid'",
    ),
    (
        "a kid that is not a string",
        lambda s, t: s.sign(header_with(s, kid=7), CLAIMS),
        "the token's header field 'kid' is not a string",
    ),
    (
        "a signer that is not a string",
        lambda s, t: s.sign(header_with(s, signer=None), CLAIMS),
        "the token's header field 'signer' is not a string",
    ),
    (
        "an issuer that is not a string",
        lambda s, t: s.sign(header_with(s, iss=["x"]), CLAIMS),
        "the token's header field 'iss' is not a string",
    ),
    (
        "a signature segment that is not base64url",
        lambda s, t: t.rsplit(".", 1)[0] + ".sig!",
        "the token's signature is not base64url",
    ),
    (
        "a payload that is not JSON",
        lambda s, t: ".".join([t.split(".")[0], encode_segment(b"ada"), t.split(".")[2]]),
        "the token's payload is not strict JSON (UTF-8, no repeated name, no NaN or Infinity)",
    ),
    (
        "a signed payload without sub",
        lambda s, t: s.token({"email": "ada@example.com"}, now=NOW),
        "the token's payload has no 'sub'",
    ),
    (
        "a signed payload with an empty sub",
        lambda s, t: s.token({"sub": ""}, now=NOW),
        "the token's payload has no 'sub'",
    ),
]


@pytest.mark.parametrize(
    ("make", "message"), [pytest.param(m, msg, id=name) for name, m, msg in MALFORMED]
)
def test_malformed_tokens_are_refused_as_malformed(
    signer: ALBTokenSigner,
    verifier: ALBIdentityVerifier,
    make: Callable[[ALBTokenSigner, str], str],
    message: str,
) -> None:
    token = make(signer, alb_token(signer))
    error = refusal(verifier, token)
    assert type(error) is MalformedToken
    assert str(error) == message


def test_a_signature_of_the_wrong_length_is_a_bad_signature(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    header, payload, signature = alb_token(signer).split(".")
    der_like = encode_segment(base64.urlsafe_b64decode(signature) + b"\x00")
    assert type(refusal(verifier, f"{header}.{payload}.{der_like}")) is BadSignature


def test_a_token_that_is_not_a_string_is_malformed(verifier: ALBIdentityVerifier) -> None:
    with pytest.raises(MalformedToken) as caught:
        verifier.verify_token(b"a.b.c")  # type: ignore[arg-type]
    assert str(caught.value) == "the token must be a str, got bytes"


# --- errors -----------------------------------------------------------------------------------


def test_every_failure_has_its_class_under_adapter_error() -> None:
    failures = [
        MissingIdentityHeader,
        MalformedToken,
        WrongAlgorithm,
        WrongSigner,
        TokenExpired,
        WrongIssuer,
        WrongClient,
        UnknownKeyId,
        BadSignature,
        KeyFetchFailed,
    ]
    assert all(issubclass(cls, AuthenticationError) for cls in failures)
    assert issubclass(AuthenticationError, AdapterError)
    assert {cls.__name__: cls.status for cls in failures if cls.status != 401} == {
        "KeyFetchFailed": 503
    }


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"load_balancer_arns": []},
            "load_balancer_arns is empty: name the load balancers to trust",
        ),
        (
            {
                "load_balancer_arns": "arn:aws:elasticloadbalancing:eu-west-1:123:loadbalancer/app/x/1"
            },
            "not an application load balancer ARN: 'arn:aws:elasticloadbalancing:eu-west-1:123:"
            "loadbalancer/app/x/1' (expected arn:aws:elasticloadbalancing:<region>:<account>:"
            "loadbalancer/app/<name>/<id>)",
        ),
        (
            {"load_balancer_arns": EXAMPLE_LOAD_BALANCER_ARN.replace("/app/", "/net/")},
            "not an application load balancer ARN: '"
            + EXAMPLE_LOAD_BALANCER_ARN.replace("/app/", "/net/")
            + "' (expected arn:aws:elasticloadbalancing:<region>:<account>:"
            "loadbalancer/app/<name>/<id>)",
        ),
        ({"leeway": 301}, "leeway must be between 0 and 300 seconds: it only absorbs clock skew"),
        ({"leeway": -1}, "leeway must be between 0 and 300 seconds: it only absorbs clock skew"),
        ({"fetch_timeout": 0}, "fetch_timeout must be a positive number of seconds"),
        ({"issuer": ""}, "issuer must be a non-empty string or None"),
        (
            {"key_source": {}, "key_endpoint": "https://keys.example"},
            "give key_source or key_endpoint, not both",
        ),
        (
            {"key_endpoint": "http://keys.example"},
            "key_endpoint must be an https:// URL (or http:// on 127.0.0.1)",
        ),
        (
            {"key_endpoint": "file:///etc/keys"},
            "key_endpoint must be an https:// URL (or http:// on 127.0.0.1)",
        ),
        (
            {"key_endpoint": "https://keys.example/?kid="},
            "key_endpoint must not have a query or fragment: <key_endpoint>/<kid>",
        ),
        (
            {
                "load_balancer_arns": "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:"
                "loadbalancer/app/shop/50dc6c495c0c9188"
            },
            "AWS documents no ALB public-key endpoint for cn-north-1: pass key_source= "
            "(kid -> PEM) or key_endpoint=",
        ),
    ],
)
def test_configuration_mistakes_are_refused_at_construction(
    options: dict[str, Any], message: str
) -> None:
    arns = options.pop("load_balancer_arns", EXAMPLE_LOAD_BALANCER_ARN)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ALBIdentityVerifier(arns, **options)


def test_a_leeway_that_is_not_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError) as caught:
        ALBIdentityVerifier(EXAMPLE_LOAD_BALANCER_ARN, leeway="10")  # type: ignore[arg-type]
    assert str(caught.value) == "leeway must be a number of seconds, got str"


def test_the_verifier_repr_shows_its_configuration(verifier: ALBIdentityVerifier) -> None:
    assert repr(verifier) == (
        f"ALBIdentityVerifier([{EXAMPLE_LOAD_BALANCER_ARN!r}], issuer={EXAMPLE_ISSUER!r}, "
        f"client_id={EXAMPLE_CLIENT_ID!r}, leeway=10)"
    )


# --- where keys come from ----------------------------------------------------------------------


def test_the_public_key_urls_aws_documents() -> None:
    kid = "12345678-1234-1234-1234-123456789012"
    assert public_key_url("eu-west-1", kid) == (
        f"https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}"
    )
    assert public_key_url("us-gov-west-1", kid) == (
        f"https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/{kid}"
    )
    assert public_key_url("us-gov-east-1", kid) == (
        f"https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1/{kid}"
    )
    with pytest.raises(ValueError, match=r"^not a key id: only letters, digits, '-' and '_' are$"):
        public_key_url("us-gov-west-1", "../attacker-bucket/key")
    with pytest.raises(ValueError, match=r"^'eu-west-1/x' is not an AWS region name$"):
        public_key_url("eu-west-1/x", kid)


def test_an_injected_callable_is_asked_once_per_kid(signer: ALBTokenSigner) -> None:
    asked: list[str] = []

    def keys(kid: str) -> str | None:
        asked.append(kid)
        return signer.key_source.get(kid)

    verifier = ALBIdentityVerifier(EXAMPLE_LOAD_BALANCER_ARN, key_source=keys, clock=lambda: NOW)
    for _ in range(3):
        assert verifier.verify_token(alb_token(signer)).subject == "ada-0001"
    stranger = ALBTokenSigner()
    for _ in range(2):
        assert type(refusal(verifier, alb_token(stranger))) is UnknownKeyId
    assert asked == [signer.kid, stranger.kid, stranger.kid]  # unknown kids are asked again


def test_an_injected_loaded_key_is_accepted(signer: ALBTokenSigner) -> None:
    verifier = ALBIdentityVerifier(
        EXAMPLE_LOAD_BALANCER_ARN,
        key_source={signer.kid: signer.private_key.public_key()},
        clock=lambda: NOW,
    )
    assert verifier.verify_token(alb_token(signer)).subject == "ada-0001"


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    ("material", "message"),
    [
        ("not a key", "the public key is not a PEM public key"),
        (b"", "the public key is not a PEM public key"),
        (
            pem(ec.generate_private_key(ec.SECP384R1())),
            "the public key is not an EC P-256 key, which ALB signs with",
        ),
        (
            pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "the public key is not an EC P-256 key, which ALB signs with",
        ),
    ],
    ids=["text", "empty", "p384", "rsa"],
)
def test_a_key_that_is_not_p256_is_a_key_failure(
    signer: ALBTokenSigner, material: str | bytes, message: str
) -> None:
    verifier = ALBIdentityVerifier(
        EXAMPLE_LOAD_BALANCER_ARN, key_source={signer.kid: material}, clock=lambda: NOW
    )
    error = refusal(verifier, alb_token(signer))
    assert (type(error), str(error), error.status) == (KeyFetchFailed, message, 503)


def test_a_key_source_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError) as caught:
        ALBIdentityVerifier(EXAMPLE_LOAD_BALANCER_ARN, key_source=["pem"])  # type: ignore[arg-type]
    assert str(caught.value) == "key_source must be a mapping of kid to PEM, or a callable"


@dataclass
class KeyServer:
    """A key endpoint on 127.0.0.1: ``keys`` maps a path to (status, body, extra headers)."""

    url: str
    keys: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def serve(self, kid: str, body: str | bytes, status: int = 200, **headers: str) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.keys[f"/keys/{kid}"] = (status, data, headers)
        return kid


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    state: KeyServer

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requested.append(self.path)
            if self.path.startswith("/keys/slow-"):
                state.release.wait(5)  # bounded; the test releases it at once
                return
            status, body, headers = state.keys.get(self.path, (404, b"NoSuchKey", {}))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # the client that timed out has gone: nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    state = KeyServer(url=f"http://127.0.0.1:{server.server_address[1]}/keys")
    # A short poll interval: shutdown() waits for the serving loop's next look at its flag.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def fetching_verifier(key_server: KeyServer, **options: Any) -> ALBIdentityVerifier:
    return ALBIdentityVerifier(
        EXAMPLE_LOAD_BALANCER_ARN,
        key_endpoint=key_server.url + "/",
        clock=lambda: NOW,
        **options,
    )


def fresh_signer() -> ALBTokenSigner:
    """A signer with a kid no other test has used: fetched keys are kept for the process."""
    return ALBTokenSigner(kid=f"test-{uuid.uuid4()}")


def test_keys_are_fetched_once_per_kid_for_the_whole_process(key_server: KeyServer) -> None:
    first, second = fresh_signer(), fresh_signer()
    key_server.serve(first.kid, first.public_key_pem)
    key_server.serve(second.kid, second.public_key_pem.encode())

    one, another = fetching_verifier(key_server), fetching_verifier(key_server)
    for verifier in (one, another, one):
        assert verifier.verify_token(alb_token(first)).subject == "ada-0001"
    assert another.verify_token(alb_token(second)).subject == "ada-0001"
    assert one.verify_token(alb_token(second)).subject == "ada-0001"

    assert key_server.requested == [f"/keys/{first.kid}", f"/keys/{second.kid}"]


def test_a_404_is_an_unknown_kid_and_is_asked_again(key_server: KeyServer) -> None:
    stranger = fresh_signer()
    verifier = fetching_verifier(key_server)
    for _ in range(2):
        error = refusal(verifier, alb_token(stranger))
        assert (type(error), str(error)) == (
            UnknownKeyId,
            "the key endpoint has no public key for the token's kid",
        )
    assert key_server.requested == [f"/keys/{stranger.kid}"] * 2
    # Once the key exists (a failure is not remembered), it verifies.
    key_server.serve(stranger.kid, stranger.public_key_pem)
    assert verifier.verify_token(alb_token(stranger)).subject == "ada-0001"


def test_s3s_403_for_a_missing_object_is_an_unknown_kid(key_server: KeyServer) -> None:
    stranger = fresh_signer()
    key_server.serve(stranger.kid, b"AccessDenied", status=403)
    assert type(refusal(fetching_verifier(key_server), alb_token(stranger))) is UnknownKeyId


def test_a_timeout_is_a_key_fetch_failure(key_server: KeyServer) -> None:
    slow = ALBTokenSigner(kid=f"slow-{uuid.uuid4()}")
    verifier = fetching_verifier(key_server, fetch_timeout=0.2)
    error = refusal(verifier, alb_token(slow))
    port = key_server.url.split(":")[2].split("/")[0]
    assert (type(error), str(error), error.status) == (
        KeyFetchFailed,
        f"the key endpoint 127.0.0.1:{port} did not answer within 0.2 s",
        503,
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "message"),
    [
        (500, b"oops", {}, "the key endpoint {host} answered HTTP 500"),
        (302, b"", {"Location": "/keys/elsewhere"}, "the key endpoint {host} answered HTTP 302"),
        (200, b"<html>not a key</html>", {}, "the public key is not a PEM public key"),
        (200, b"-" * 9000, {}, "the key endpoint {host} answered more than a public key"),
    ],
    ids=["500", "redirect-not-followed", "not-pem", "oversized"],
)
def test_an_unusable_answer_is_a_key_fetch_failure(
    key_server: KeyServer, status: int, body: bytes, headers: dict[str, str], message: str
) -> None:
    signer = fresh_signer()
    key_server.serve(signer.kid, body, status, **headers)
    error = refusal(fetching_verifier(key_server), alb_token(signer))
    host = key_server.url.split("/")[2]
    assert (type(error), str(error)) == (KeyFetchFailed, message.format(host=host))
    assert key_server.requested == [f"/keys/{signer.kid}"]  # the redirect was not followed


def test_an_unreachable_endpoint_is_a_key_fetch_failure() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verifier = ALBIdentityVerifier(
        EXAMPLE_LOAD_BALANCER_ARN, key_endpoint=f"http://127.0.0.1:{port}", clock=lambda: NOW
    )
    error = refusal(verifier, alb_token(fresh_signer()))
    assert type(error) is KeyFetchFailed
    assert str(error).startswith(f"the key endpoint 127.0.0.1:{port} could not be reached (")


def test_govcloud_keys_come_from_the_regions_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    from alb_adapter.auth import keys

    signer = ALBTokenSigner(signer=GOV_ARN, kid=f"gov-{uuid.uuid4()}")
    fetched: list[tuple[str, float]] = []

    def download(url: str, timeout: float) -> bytes:
        fetched.append((url, timeout))
        return signer.public_key_pem.encode()

    monkeypatch.setattr(keys, "_download", download)
    verifier = ALBIdentityVerifier(GOV_ARN, clock=lambda: NOW, fetch_timeout=1.5)
    assert verifier.verify_token(alb_token(signer)).signer == GOV_ARN
    assert fetched == [
        (
            "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/"
            + signer.kid,
            1.5,
        )
    ]


# --- the package without the extra ----------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        timeout=60,
    )


def test_import_alb_adapter_imports_nothing_of_auth() -> None:
    result = run_python(
        "import sys, alb_adapter, alb_adapter.wsgi\n"
        "print(sorted(m for m in sys.modules if m.startswith(('alb_adapter.auth', 'cryptography'))))"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")


def test_without_cryptography_the_verifier_says_which_extra_to_install() -> None:
    result = run_python(
        "import sys\n"
        "sys.modules['cryptography'] = None  # as if it were not installed\n"
        "import alb_adapter.auth\n"
        "from alb_adapter.auth import logout_response, MissingIdentityHeader\n"
        "print(logout_response('/bye', shards=1).status)\n"
        "try:\n"
        "    from alb_adapter.auth import ALBIdentityVerifier\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "302\nverifying ALB identities needs the 'cryptography' package: "
        "pip install 'alb-adapter[auth]'\n",
        "",
    )


# --- signing out ---------------------------------------------------------------------------------

EXPIRED = "Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
LOGOUT_URL = cognito_logout_url(
    "shop.auth.eu-west-1.amazoncognito.com", "client 1", "https://shop.example.com/signed-out"
)


def test_the_cognito_logout_url() -> None:
    assert LOGOUT_URL == (
        "https://shop.auth.eu-west-1.amazoncognito.com/logout?client_id=client+1&"
        "logout_uri=https%3A%2F%2Fshop.example.com%2Fsigned-out"
    )
    with pytest.raises(
        ValueError, match=r"^domain is the user pool's domain name, without https:// or a path$"
    ):
        cognito_logout_url("https://shop.auth.example.com", "c", "/")


def test_logout_expires_every_shard_and_redirects() -> None:
    assert logout_response(LOGOUT_URL) == LogoutResponse(
        302,
        [
            ("Set-Cookie", f"AWSELBAuthSessionCookie-0=; {EXPIRED}; Secure; HttpOnly"),
            ("Set-Cookie", f"AWSELBAuthSessionCookie-1=; {EXPIRED}; Secure; HttpOnly"),
            ("Set-Cookie", f"AWSELBAuthSessionCookie-2=; {EXPIRED}; Secure; HttpOnly"),
            ("Set-Cookie", f"AWSELBAuthSessionCookie-3=; {EXPIRED}; Secure; HttpOnly"),
            ("Location", LOGOUT_URL),
            ("Cache-Control", "no-store"),
        ],
    )


def test_logout_with_the_actions_own_cookie_name() -> None:
    status, headers = logout_response(
        "/signed-out", cookie_name="ShopSession", shards=2, status=303, secure=False
    )
    assert (status, headers) == (
        303,
        [
            ("Set-Cookie", f"ShopSession-0=; {EXPIRED}; HttpOnly"),
            ("Set-Cookie", f"ShopSession-1=; {EXPIRED}; HttpOnly"),
            ("Location", "/signed-out"),
            ("Cache-Control", "no-store"),
        ],
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"logout_url": "/bye\r\nSet-Cookie: x=1"},
            "logout_url must be a non-empty URL without control characters",
        ),
        ({"logout_url": ""}, "logout_url must be a non-empty URL without control characters"),
        ({"cookie_name": "a;b"}, "cookie_name must be letters, digits, '-', '_' or '.'"),
        ({"shards": 0}, "shards must be an int from 1 to 16"),
        ({"shards": 17}, "shards must be an int from 1 to 16"),
        ({"status": 200}, "status must be a redirect status (302 or 303, usually)"),
    ],
)
def test_logout_refuses_what_would_break_the_headers(options: dict[str, Any], message: str) -> None:
    url = options.pop("logout_url", "/bye")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        logout_response(url, **options)


def expected_logout() -> list[tuple[str, str]]:
    _, headers = logout_response(LOGOUT_URL)
    return [(name.lower(), value) for name, value in headers]


def test_flask_signs_out_through_alb_in_both_header_modes(multi: bool) -> None:
    from flask import Flask

    app = Flask(__name__)

    @app.post("/logout")
    def logout() -> Any:
        status, headers = logout_response(LOGOUT_URL)
        return "", status, headers

    with WSGIHandler(app) as handler:
        event = make_event("POST", "/logout", multi_value_headers=multi)
        answer = read_response(handler(event, LambdaContext()), multi_value_headers=multi)
    # Every Set-Cookie reaches the client in single-value mode too (case variants).
    assert (answer.status, list(answer.headers), answer.body) == (
        302,
        [*expected_logout(), ("content-type", "text/html; charset=utf-8")],
        b"",
    )


def test_starlette_signs_out_through_alb_in_both_header_modes(multi: bool) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    def logout(request: Request) -> Response:
        status, headers = logout_response(LOGOUT_URL)
        response = Response(status_code=status)
        for name, value in headers:
            response.headers.append(name, value)
        return response

    app = Starlette(routes=[Route("/logout", logout, methods=["POST"])])
    with ASGIHandler(app, lifespan="off") as handler:
        event = make_event("POST", "/logout", multi_value_headers=multi)
        answer = read_response(handler(event, LambdaContext()), multi_value_headers=multi)
    assert (answer.status, list(answer.headers), answer.body) == (302, expected_logout(), b"")


def test_django_signs_out_with_the_docstrings_recipe() -> None:
    from django.conf import ENVIRONMENT_VARIABLE, settings  # type: ignore[import-untyped]

    if not os.environ.get(ENVIRONMENT_VARIABLE) and not settings.configured:
        settings.configure(SECRET_KEY="test-only-" + "k" * 40)
    from django.http import HttpResponse  # type: ignore[import-untyped]

    status, headers = logout_response(LOGOUT_URL)
    response = HttpResponse(status=status)
    for name, value in headers:
        if name == "Set-Cookie":
            response.cookies.load(value)
        else:
            response[name] = value

    assert (response.status_code, response["Location"], response["Cache-Control"]) == (
        302,
        LOGOUT_URL,
        "no-store",
    )
    # What Django's handlers send: one Set-Cookie per morsel, its attributes in Django's order.
    assert [morsel.OutputString() for morsel in response.cookies.values()] == [
        f"AWSELBAuthSessionCookie-{shard}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; "
        "Max-Age=0; Path=/; Secure"
        for shard in range(4)
    ]


# --- the identity, read by an app behind the adapter ---------------------------------------------


def test_a_flask_app_behind_the_adapter_reads_the_verified_identity(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier, multi: bool
) -> None:
    from flask import Flask, request

    app = Flask(__name__)

    @app.get("/account/me")
    def me() -> Any:
        try:
            identity = verifier.verify(request.headers)
        except AuthenticationError as error:
            return {"error": type(error).__name__}, error.status
        return {"sub": identity.subject, "email": identity.email}

    signed_in = signer.headers(CLAIMS, now=NOW)
    forged = {**signed_in, "x-amzn-oidc-data": alb_token(ALBTokenSigner(kid=signer.kid))}
    answers = []
    with WSGIHandler(app) as handler:
        for headers in (signed_in, forged, {}):
            event = make_event("GET", "/account/me", headers=headers, multi_value_headers=multi)
            answer = read_response(handler(event, LambdaContext()), multi_value_headers=multi)
            answers.append((answer.status, answer.json()))
    assert answers == [
        (200, {"sub": "ada-0001", "email": "ada@example.com"}),
        (401, {"error": "BadSignature"}),
        (401, {"error": "MissingIdentityHeader"}),
    ]


def test_an_asgi_app_reads_the_identity_from_the_scope_headers(
    signer: ALBTokenSigner, verifier: ALBIdentityVerifier
) -> None:
    seen: list[Identity] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(verifier.verify(scope["headers"]))  # bytes pairs, as ASGI has them
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with ASGIHandler(app, lifespan="off") as handler:
        event = make_event("GET", "/", headers=signer.headers(CLAIMS, access_token="t", now=NOW))
        assert read_response(handler(event, LambdaContext())).status == 204
    assert [(identity.subject, identity.access_token) for identity in seen] == [("ada-0001", "t")]
