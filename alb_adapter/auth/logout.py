"""Signing out of an ALB authenticate action: expire the load balancer's session cookies and send
the browser to the identity provider's logout page.

ALB keeps the signed-in session in its own cookie, ``AWSELBAuthSessionCookie`` by default (the
action's ``SessionCookieName``), split into shards named ``<name>-0``, ``<name>-1``... when it
outgrows one cookie (ALB allows up to 16 KB, so up to 4 shards). The application signs a user out
by expiring every shard and then redirecting to the provider's logout endpoint, so that the
provider's own session ends too; otherwise the next request would be signed straight back in.
The page the provider returns to after logout must not be behind an authenticate rule, or the
user lands on a sign-in again.

Behind ALB in single-value header mode only one Set-Cookie header normally survives; alb-adapter
sends several anyway (``multi_cookie="case-variants"``, the default), or enable multi-value
headers on the target group.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import NamedTuple

DEFAULT_COOKIE_NAME = "AWSELBAuthSessionCookie"
DEFAULT_SHARDS = 4  # ALB's session cookie is at most 16 KB: four 4 KB shards
_EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"
_HOST_NAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


class LogoutResponse(NamedTuple):
    """A status and header pairs (several Set-Cookie, a Location): unpack it as
    ``status, headers = logout_response(...)``."""

    status: int
    headers: list[tuple[str, str]]


def logout_response(
    logout_url: str,
    *,
    cookie_name: str = DEFAULT_COOKIE_NAME,
    shards: int = DEFAULT_SHARDS,
    status: int = 302,
    secure: bool = True,
) -> LogoutResponse:
    """The answer that signs the user out of the load balancer's session and redirects to
    ``logout_url`` (the provider's logout endpoint, e.g. ``cognito_logout_url(...)``; or, for a
    provider without one, a page of yours outside the authenticate rule).

    ``cookie_name`` is the action's ``SessionCookieName``; ``shards`` how many of
    ``<name>-0`` .. ``<name>-<shards - 1>`` to expire (expiring a shard the browser does not have
    costs nothing). Each is replaced by an empty, already expired cookie on ``Path=/`` (a cookie
    is replaced only by one with the same name, domain and path), marked ``Secure`` and
    ``HttpOnly``; ``secure=False`` only for a local ALB on plain HTTP under a host name other than
    localhost. The response is ``Cache-Control: no-store``, so that no cache replays it.

    Flask::

        @app.post("/logout")
        def logout():
            status, headers = logout_response(LOGOUT_URL)
            return "", status, headers

    Django (its responses hold several Set-Cookie only in ``response.cookies``)::

        def logout(request):
            status, headers = logout_response(LOGOUT_URL)
            response = HttpResponse(status=status)
            for name, value in headers:
                if name == "Set-Cookie":
                    response.cookies.load(value)
                else:
                    response[name] = value
            return response

    FastAPI / Starlette (``headers.append`` keeps every Set-Cookie)::

        @app.post("/logout")
        def logout() -> Response:
            status, headers = logout_response(LOGOUT_URL)
            response = Response(status_code=status)
            for name, value in headers:
                response.headers.append(name, value)
            return response
    """
    if not isinstance(logout_url, str) or not logout_url or not logout_url.isprintable():
        raise ValueError("logout_url must be a non-empty URL without control characters")
    if not cookie_name or not all(
        character.isascii() and (character.isalnum() or character in "-_.")
        for character in cookie_name
    ):
        raise ValueError("cookie_name must be letters, digits, '-', '_' or '.'")
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 16:
        raise ValueError("shards must be an int from 1 to 16")
    if status not in (301, 302, 303, 307, 308):
        raise ValueError("status must be a redirect status (302 or 303, usually)")
    attributes = f"Expires={_EXPIRED}; Max-Age=0; Path=/" + ("; Secure" if secure else "")
    headers = [
        ("Set-Cookie", f"{cookie_name}-{shard}=; {attributes}; HttpOnly") for shard in range(shards)
    ]
    headers += [("Location", logout_url), ("Cache-Control", "no-store")]
    return LogoutResponse(status, headers)


def cognito_logout_url(domain: str, client_id: str, logout_uri: str) -> str:
    """The logout endpoint of an Amazon Cognito user pool's domain (``myapp.auth.eu-west-1.
    amazoncognito.com``, or a custom domain), returning to ``logout_uri``, which must be one of
    the app client's sign-out URLs."""
    if not _HOST_NAME.fullmatch(domain):
        raise ValueError("domain is the user pool's domain name, without https:// or a path")
    query = urllib.parse.urlencode({"client_id": client_id, "logout_uri": logout_uri})
    return f"https://{domain}/logout?{query}"
