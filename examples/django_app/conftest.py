"""Make the example importable, pin its settings before anything imports Django, and provide the
site behind both handler kinds.

pytest runs from the repository root with ``--import-mode=importlib``, so nothing puts this
directory on ``sys.path`` by itself. Django reads its settings once per process, so the
environment the settings read is fixed here, before the first import, and tests that need other
settings use ``override_settings`` around a single call instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

EXAMPLE_DIR = Path(__file__).resolve().parent
for _directory in (EXAMPLE_DIR, EXAMPLE_DIR / "tests"):  # the project, and tests/django_support
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))

os.environ["DJANGO_SETTINGS_MODULE"] = "django_example.settings"
# The tests check the documented defaults; a developer's shell must not change them.
for _name in (
    "ALB_BASE_PATH",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_DEBUG",
    "DJANGO_SECURE_COOKIES",
):
    os.environ.pop(_name, None)

from django_support import Site, Spied, asgi_spy, wsgi_spy  # noqa: E402

from alb_adapter import ASGIHandler, WSGIHandler  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django_support import Kind


@pytest.fixture(params=["wsgi", "asgi"])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Both ways to serve Django: ``lambda_handler`` (WSGI) and ``lambda_handler_asgi`` (ASGI)."""
    kind: Kind = request.param
    return kind


@pytest.fixture(params=[False, True], ids=["single", "multi"])
def multi(request: pytest.FixtureRequest) -> bool:
    """Both header modes of an ALB target group (lambda.multi_value_headers.enabled)."""
    return bool(request.param)


@pytest.fixture(scope="session")
def wsgi_handlers() -> dict[str, WSGIHandler]:
    """The deployed WSGI handler, and the same application mounted under ``/account``."""
    from django_example import lambda_handler

    mounted = WSGIHandler(
        lambda_handler.application, health_check_path="/health", base_path="/account"
    )
    return {"": lambda_handler.handler, "/account": mounted}


@pytest.fixture(scope="session")
def asgi_handlers() -> Iterator[dict[str, ASGIHandler]]:
    """The deployed ASGI handler, and the same application mounted under ``/account``.

    Imported here, not at the top of a test file, so that only a run that uses it builds (and
    then closes) the module's handler and its event loop.
    """
    from django_example import lambda_handler_asgi

    mounted = ASGIHandler(
        lambda_handler_asgi.application, health_check_path="/health", base_path="/account"
    )
    handlers = {"": lambda_handler_asgi.handler, "/account": mounted}
    yield handlers
    for handler in handlers.values():
        handler.close()


@pytest.fixture
def site(kind: Kind, multi: bool, request: pytest.FixtureRequest) -> Site:
    """The example behind one handler kind, in one header mode."""
    return Site(kind, multi, request.getfixturevalue(f"{kind}_handlers"))


@pytest.fixture
def spied(site: Site) -> Iterator[Spied]:
    """A handler of the site's kind with ``health_check_path="/health"``, over the Django
    application wrapped to record what reaches it."""
    calls: list[str] = []
    deployed = site.deployed
    if isinstance(deployed, WSGIHandler):
        yield Spied(WSGIHandler(wsgi_spy(deployed.app, calls), health_check_path="/health"), calls)
        return
    handler = ASGIHandler(asgi_spy(deployed.app, calls), health_check_path="/health")
    yield Spied(handler, calls)
    handler.close()
