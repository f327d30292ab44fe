"""The "legacy" site of the migration demo: a plain Starlette app on its own server, standing in for
the application that is being moved to Lambda one path at a time.

The local ALB forwards to it whatever no listener rule claims for Lambda (``/``, ``/about``...).
It knows nothing of Lambda, yet it sees the cookies the Lambda side set (the ``theme`` chosen at
``/login``), because the browser talks to one host, the load balancer, and cookies are per host,
not per server. Every page also shows the ``X-Forwarded-For`` chain the load balancer sent.

Run it (from the repository root): ``uvicorn --app-dir examples/migration legacy_app:app --port 9000``
"""

from __future__ import annotations

from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

#: Sent with every page, so a client (or a test) can tell which side of the ALB answered.
SERVED_BY = ("X-Served-By", "legacy-app")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} · legacy site</title>
</head>
<body>
  <header><a href="/">Home</a> · <a href="/about">About</a></header>
  <main>
{content}
  </main>
  <footer>Served by the legacy app. X-Forwarded-For: <code id="xff">{xff}</code></footer>
</body>
</html>
"""


def page(request: Request, title: str, content: str) -> HTMLResponse:
    """One HTML page in the site's frame; everything that came from the request is escaped."""
    xff = request.headers.get("x-forwarded-for", "")
    html = PAGE.format(title=escape(title), content=content, xff=escape(xff))
    return HTMLResponse(html, headers=dict([SERVED_BY]))


async def home(request: Request) -> HTMLResponse:
    """Links to pages that now live on Lambda (same host: the ALB routes them there)."""
    theme = request.cookies.get("theme")
    if theme:
        greeting = f'<p>Your theme: <strong id="theme">{escape(theme)}</strong></p>'
    else:
        greeting = "<p>No theme chosen yet: sign in to pick one.</p>"
    content = f"""    <h1>Legacy shop</h1>
    {greeting}
    <ul>
      <li><a href="/login">Sign in</a> (moved to Lambda)</li>
      <li><a href="/account/profile">Your account</a> (moved to Lambda)</li>
      <li><a href="/about">About this site</a> (still here)</li>
    </ul>"""
    return page(request, "Home", content)


async def about(request: Request) -> HTMLResponse:
    content = """    <h1>About</h1>
    <p>This page is still served by the legacy application.</p>"""
    return page(request, "About", content)


app = Starlette(routes=[Route("/", home), Route("/about", about)])
