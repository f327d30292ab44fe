"""The same Django example behind every front door Lambda has: ALB, API Gateway (REST API, HTTP
API with payload 1.0 and 2.0, each through a custom domain and on its execute-api URL under a
stage), a Function URL and VPC Lattice (V1 and V2), over both handlers (WSGI and ASGI).

Written with Django's own test client: ``ALBDjangoClient(source=..., stage=...)`` (or
``ALBDjangoASGIClient``) is the only thing that changes from one front door to the next. Under a
stage the client's URL is ``https://<api-id>.execute-api.<region>.amazonaws.com/prod/...``: Django
sees ``/prod`` as ``SCRIPT_NAME``, so ``{% url %}``, ``reverse()`` in a view, redirects and
``build_absolute_uri()`` all give URLs under it, the URLs the client uses. ``reverse()`` in a test
has no request, so there it gives the app's own path (``/notes/``): the tests put the stage in
front themselves (``door.path("notes")``).

What a deployment behind these doors must configure, the tests configure too: the hosts the
clients use go in ``ALLOWED_HOSTS`` (``DJANGO_ALLOWED_HOSTS``), as the last test shows.
"""

# Django ships no type hints: its names are Any here.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import NamedTuple

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.test.utils import setup_test_environment, teardown_test_environment
from django.urls import include, path, reverse
from django_support import CSRF_COOKIE, DENY, HTML, JSON, SECURITY, SESSION_COOKIE, VARY, layout

from alb_adapter.testing.django import ALBDjangoASGIClient, ALBDjangoClient

ALBClient = ALBDjangoClient | ALBDjangoASGIClient
CLIENTS: dict[str, type[ALBClient]] = {"wsgi": ALBDjangoClient, "asgi": ALBDjangoASGIClient}

# The services' example hosts (alb_adapter/sources/service_side.py, apigateway_v2/service.py).
EXECUTE_API = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL = "abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"
CUSTOM_DOMAIN = "example.com"  # the site's own name, in the example's ALLOWED_HOSTS
# A download of the test's own: bytes that are not text, as a PNG's are.
PICTURE = b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(2000)


class FrontDoor(NamedTuple):
    """A front door, and the host and mount point its clients' URLs have."""

    source: str
    stage: str | None = None

    @property
    def host(self) -> str:
        """The API's execute-api host under a stage, a Function URL's own domain (it has no
        custom domains), else the site's custom domain."""
        if self.stage:
            return EXECUTE_API
        return FUNCTION_URL if self.source == "function-url" else CUSTOM_DOMAIN

    @property
    def mount(self) -> str:
        """Where Django is mounted as it sees it (``SCRIPT_NAME``): the stage, or the root."""
        return f"/{self.stage}" if self.stage else ""

    def path(self, name: str) -> str:
        """The path a client requests for the named route."""
        return f"{self.mount}{reverse(name)}"


DOORS = [
    FrontDoor("alb"),
    FrontDoor("apigw-rest"),
    FrontDoor("apigw-rest", "prod"),
    FrontDoor("apigw-http-v1"),
    FrontDoor("apigw-http-v1", "prod"),
    FrontDoor("apigw-http-v2"),
    FrontDoor("apigw-http-v2", "prod"),
    FrontDoor("function-url"),
    FrontDoor("vpc-lattice-v2"),
    FrontDoor("vpc-lattice-v1"),
]


def picture(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PICTURE, content_type="image/png")


# The example's routes, and the download this module adds to them.
urlpatterns = [
    path("", include("django_example.urls")),
    path("picture.png", picture, name="picture"),
]

# What a deployment behind API Gateway or a Function URL sets in DJANGO_ALLOWED_HOSTS, besides
# the example's own names.
DEPLOYED_HOSTS = [".execute-api.us-east-1.amazonaws.com", ".lambda-url.us-east-1.on.aws"]


@pytest.fixture(scope="module", autouse=True)
def django_project() -> Iterator[None]:
    """Django set up with the example's settings and its test environment (the template
    signals ``response.context`` needs), unless pytest-django did it; this module's routes and
    hosts on top."""
    django.setup()  # what importing a Lambda handler module does in the other test files
    try:
        setup_test_environment()
    except RuntimeError:  # already done for the whole run (pytest-django)
        ours = False
    else:
        ours = True
    with override_settings(
        ROOT_URLCONF=__name__, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, *DEPLOYED_HOSTS]
    ):
        yield
    if ours:
        teardown_test_environment()


@pytest.fixture(params=DOORS, ids=[f"{d.source}-{d.stage}" if d.stage else d.source for d in DOORS])
def door(request: pytest.FixtureRequest) -> FrontDoor:
    value: FrontDoor = request.param
    return value


@pytest.fixture(params=["wsgi", "asgi"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def client(kind: str, door: FrontDoor) -> Iterator[ALBClient]:
    """Django's test client through ``door``, sending the Host its clients send."""
    client = CLIENTS[kind](source=door.source, stage=door.stage, HTTP_HOST=door.host)
    yield client
    client.close()


def headers_of(response: HttpResponse) -> list[tuple[str, str]]:
    return list(response.headers.items())


def masked_cookies(response: HttpResponse) -> list[str]:
    """The response's Set-Cookie, in order, with their values and expiry dates masked."""
    masked = []
    for name, morsel in response.cookies.items():
        attributes = morsel.OutputString().split("; ")[1:]
        kept = ["expires=…" if part.startswith("expires=") else part for part in attributes]
        masked.append("; ".join([f"{name}=…", *kept]))
    return masked


HOME = (
    "\n<h1>Django on AWS Lambda behind an ALB</h1>\n<ul>\n"
    '<li><a href="{p}/notes/">Notes</a>: a form with a CSRF token, notes kept in a '
    "signed-cookie session</li>\n"
    '<li><a href="{p}/api/notes">Notes as JSON</a></li>\n'
    '<li><a href="{p}/api/request">What Django sees of this request</a>: client address, '
    "scheme, absolute URL</li>\n</ul>\n"
)


def test_the_home_pages_links_are_under_the_mount_point(client: ALBClient, door: FrontDoor) -> None:
    response = client.get(door.path("home"), secure=True)

    assert response.status_code == 200
    body = layout("alb-adapter Django example", HOME.format(p=door.mount), door.mount)
    assert headers_of(response) == [
        HTML,
        DENY,
        VARY,
        *SECURITY,
        ("content-length", str(len(body))),
    ]
    assert response.content == body
    assert response.resolver_match.url_name == "home"


def test_a_note_is_saved_and_the_redirect_stays_under_the_mount_point(
    client: ALBClient, door: FrontDoor
) -> None:
    response = client.post(door.path("notes"), {"text": "Ship it"}, follow=True, secure=True)

    assert response.redirect_chain == [(door.path("notes"), 303)]
    assert response.status_code == 200
    assert response.context["notes"] == ["Ship it"]
    page = response.content.decode()
    assert '<ul class="messages"><li>Note saved.</li></ul>' in page
    assert f'<form method="post" action="{door.path("notes")}">' in page
    # The page after the redirect re-sends csrftoken and rewrites the session (the message was
    # read): two Set-Cookie in one answer, delivered through every front door.
    assert masked_cookies(response) == [CSRF_COOKIE, SESSION_COOKIE]
    notes = client.get(door.path("api-notes"), secure=True)
    assert (notes.status_code, notes.content) == (200, b'{"notes": ["Ship it"]}')


def test_the_absolute_url_django_builds_is_the_one_the_client_used(
    client: ALBClient, door: FrontDoor
) -> None:
    response = client.get(door.path("api-request"), secure=True)

    assert response.status_code == 200
    assert headers_of(response) == [
        JSON,
        DENY,
        *SECURITY,
        ("content-length", str(len(response.content))),
    ]
    assert response.json() == {
        "remote_addr": "127.0.0.1",  # Django's client's REMOTE_ADDR, as the service saw it
        "x_forwarded_for": "127.0.0.1",
        "is_secure": True,
        "scheme": "https",
        "host": door.host,
        "absolute_uri": f"https://{door.host}{door.mount}/api/request",
        "script_name": door.mount,
        "path_info": "/api/request",
        "path": f"{door.mount}/api/request",
    }


def test_a_binary_download_arrives_as_the_same_bytes(client: ALBClient, door: FrontDoor) -> None:
    """Base64 in the function's answer, bytes again for the client (a REST API decodes it when
    the request's Accept matches its binaryMediaTypes, which the emulator assumes configured:
    docs/sources/apigateway_v1.md)."""
    response = client.get(door.path("picture"), secure=True)

    assert response.status_code == 200
    assert headers_of(response) == [
        ("content-type", "image/png"),
        DENY,
        *SECURITY,
        ("content-length", str(len(PICTURE))),
    ]
    assert response.content == PICTURE


@pytest.mark.parametrize("door", [FrontDoor("apigw-rest", "prod"), FrontDoor("function-url")])
def test_without_the_services_host_in_allowed_hosts_django_answers_400(
    kind: str, door: FrontDoor
) -> None:
    """The example's default ALLOWED_HOSTS name the site and ALB's DNS names only: on the
    execute-api URL, or a Function URL's own domain, Django refuses the Host (DisallowedHost),
    until the deployment adds it (DJANGO_ALLOWED_HOSTS)."""
    client = CLIENTS[kind](source=door.source, stage=door.stage, HTTP_HOST=door.host)

    with override_settings(ALLOWED_HOSTS=["example.com", ".elb.amazonaws.com"]):
        response = client.get(door.path("home"), secure=True)

    assert response.status_code == 400
    client.close()
