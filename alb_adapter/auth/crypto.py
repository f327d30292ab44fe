"""The few elliptic-curve operations the verifier needs (ES256: ECDSA on P-256 with SHA-256),
from ``cryptography``, the one dependency of the ``auth`` extra.

Everything else about the token (its padded encoding, its header fields, the algorithm check) is
ALB-specific and read in ``alb_adapter/auth/token.py`` and ``verifier.py``; a general JWT library
would add nothing but its own idea of the encoding, which is exactly where ALB's token departs
from the standard. This module is the only one that imports ``cryptography``, and says how to
install it when it is missing.
"""

from __future__ import annotations

try:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )
except ImportError as error:  # pragma: no cover - tests/test_auth.py runs this in a subprocess
    raise ImportError(
        "verifying ALB identities needs the 'cryptography' package: pip install 'alb-adapter[auth]'"
    ) from error

from .errors import KeyFetchFailed

__all__ = [
    "PublicKey",
    "load_public_key",
    "new_private_key",
    "public_key_pem",
    "sign_es256",
    "verify_es256",
]

PublicKey = ec.EllipticCurvePublicKey
PrivateKey = ec.EllipticCurvePrivateKey

# ES256 signatures are the two 32-byte integers r and s, concatenated (RFC 7518, section 3.4);
# cryptography speaks DER, so they are converted both ways here.
_COORDINATE_BYTES = 32
SIGNATURE_BYTES = 2 * _COORDINATE_BYTES


def load_public_key(key: str | bytes | PublicKey) -> PublicKey:
    """An EC P-256 public key from PEM (or the key itself); KeyFetchFailed for anything else,
    since ALB signs only with P-256 and any other key would only ever fail to verify."""
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if isinstance(key, bytes):
        try:
            loaded = serialization.load_pem_public_key(key)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyFetchFailed("the public key is not a PEM public key") from None
    else:
        loaded = key
    if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(
        loaded.curve, ec.SECP256R1
    ):
        raise KeyFetchFailed("the public key is not an EC P-256 key, which ALB signs with")
    return loaded


def verify_es256(key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (raw r||s, 64 bytes) signs ``signing_input`` under ``key``."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def new_private_key() -> PrivateKey:
    """A fresh P-256 key pair, as ALB signs with (for tests and the local ALB)."""
    return ec.generate_private_key(ec.SECP256R1())


def sign_es256(key: PrivateKey, signing_input: bytes) -> bytes:
    """The raw r||s ES256 signature of ``signing_input`` (for tests and the local ALB)."""
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")


def public_key_pem(key: PrivateKey | PublicKey) -> str:
    """The PEM (SubjectPublicKeyInfo) of a key's public half: what ALB's key endpoint serves."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
