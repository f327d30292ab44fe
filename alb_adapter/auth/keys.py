"""Where the verifier gets the load balancer's public key for a token's ``kid``.

By default, from the endpoint AWS runs for the load balancer's region, which answers a PEM per
``kid``; a key never changes for its ``kid``, so each one is fetched once per process and kept
(``fetch_public_key``). Functions without internet egress, tests and the local ALB inject a key
source instead: a mapping of kid to PEM, or a callable.

The URL is built from the configured load balancer's region and a ``kid`` checked against a strict
alphabet, never from anything else in the token. The alphabet matters: GovCloud's keys are objects
in an S3 bucket, and a ``kid`` such as ``../another-bucket/key`` would otherwise make the verifier
trust a key anyone can upload to S3.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from http.client import HTTPException
from typing import TypeAlias

from ..log import logger
from .crypto import PublicKey, load_public_key
from .errors import KeyFetchFailed, UnknownKeyId

# A PEM as text or bytes, or a key already loaded.
KeyMaterial: TypeAlias = str | bytes | PublicKey
# What may be injected: kid -> key, or a callable answering None for a kid it does not know (and
# raising KeyFetchFailed when it cannot tell).
KeySource: TypeAlias = Mapping[str, KeyMaterial] | Callable[[str], KeyMaterial | None]

# ALB's kids are UUIDs; this admits them and any other plain identifier, and no "/", "." or "%".
KID = re.compile(r"[A-Za-z0-9_-]{1,128}")
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")

# A P-256 public key in PEM is under 200 bytes; anything much larger is not one.
MAX_KEY_BYTES = 8 * 1024

# Public keys fetched from key endpoints in this process, by URL (so by region and kid).
_FETCHED: dict[str, PublicKey] = {}


def region_endpoint(region: str) -> str:
    """The base URL of ALB's public keys for ``region`` (the key is ``<base>/<kid>``), as AWS
    documents it: ``public-keys.auth.elb.<region>.amazonaws.com`` in the commercial regions, an
    S3 bucket in each GovCloud region. ValueError for regions AWS documents no endpoint for (China,
    the isolated partitions): give those a ``key_source`` or a ``key_endpoint``."""
    if not REGION.fullmatch(region):
        raise ValueError(f"{region!r} is not an AWS region name")
    if region.startswith("us-gov-"):
        return f"https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}"
    if region.startswith(("cn-", "us-iso")):
        raise ValueError(
            f"AWS documents no ALB public-key endpoint for {region}: "
            "pass key_source= (kid -> PEM) or key_endpoint="
        )
    return f"https://public-keys.auth.elb.{region}.amazonaws.com"


def public_key_url(region: str, kid: str) -> str:
    """The URL of the PEM public key ``kid`` of the load balancers in ``region``."""
    if not KID.fullmatch(kid):
        raise ValueError("not a key id: only letters, digits, '-' and '_' are")
    return f"{region_endpoint(region)}/{kid}"


def check_endpoint(endpoint: str) -> str:
    """A configured key endpoint, without its trailing slash: https, or http on the loopback
    interface (the local ALB); ValueError otherwise, since a key fetched over plain HTTP from
    elsewhere could be anyone's."""
    parts = urllib.parse.urlsplit(endpoint)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("key_endpoint must be an https:// URL (or http:// on 127.0.0.1)")
    if parts.query or parts.fragment:
        raise ValueError("key_endpoint must not have a query or fragment: <key_endpoint>/<kid>")
    return endpoint.rstrip("/")


def fetch_public_key(url: str, timeout: float) -> PublicKey:
    """The public key at ``url``, fetched once per process: an ALB key never changes for its
    ``kid``. Failures are not remembered, so an endpoint that was down is asked again next time.

    UnknownKeyId for 404 (and 403, S3's answer for a missing object); KeyFetchFailed for a
    timeout, a connection failure, another status, a redirect (not followed) or a body that is not
    a P-256 public key. ``timeout`` bounds each network step (connect, each read).
    """
    key = _FETCHED.get(url)
    if key is None:
        key = load_public_key(_download(url, timeout))
        _FETCHED[url] = key
        logger().debug("fetched ALB public key from %s", urllib.parse.urlsplit(url).netloc)
    return key


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Key endpoints answer the key itself; a redirect is an error, never followed elsewhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _download(url: str, timeout: float) -> bytes:
    host = urllib.parse.urlsplit(url).netloc  # never the path: it holds the token's kid
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            body: bytes = response.read(MAX_KEY_BYTES + 1)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in (403, 404):
            raise UnknownKeyId("the key endpoint has no public key for the token's kid") from None
        raise KeyFetchFailed(f"the key endpoint {host} answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise KeyFetchFailed(_failure(host, error.reason, timeout)) from None
    except (OSError, HTTPException) as error:  # TimeoutError while reading is an OSError
        raise KeyFetchFailed(_failure(host, error, timeout)) from None
    if len(body) > MAX_KEY_BYTES:
        raise KeyFetchFailed(f"the key endpoint {host} answered more than a public key")
    return body


def _failure(host: str, reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"the key endpoint {host} did not answer within {timeout:g} s"
    return f"the key endpoint {host} could not be reached ({reason})"


class InjectedKeys:
    """An injected key source, with each kid's key loaded once (a key is immutable per kid)."""

    __slots__ = ("_loaded", "_source")

    def __init__(self, source: KeySource) -> None:
        if not isinstance(source, Mapping) and not callable(source):
            raise TypeError("key_source must be a mapping of kid to PEM, or a callable")
        self._source = source
        self._loaded: dict[str, PublicKey] = {}

    def key_for(self, kid: str) -> PublicKey:
        """The key for ``kid``; UnknownKeyId when the source has none."""
        key = self._loaded.get(kid)
        if key is not None:
            return key
        source = self._source
        material = source.get(kid) if isinstance(source, Mapping) else source(kid)
        if material is None:
            raise UnknownKeyId("the key source has no public key for the token's kid")
        key = load_public_key(material)
        self._loaded[kid] = key
        return key
