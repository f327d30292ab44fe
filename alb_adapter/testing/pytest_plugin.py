"""The pytest plugin: fixtures that send a test's requests through ALB to your Lambda handler.

Installed with the package (the ``pytest11`` entry point ``alb_adapter``), so there is nothing to
import; one setting names the handler Lambda calls::

    # pyproject.toml
    [tool.pytest.ini_options]
    alb_handler = "lambda_function:handler"
    alb_multi_value_headers = "both"        # false (the default), true, or both

    # test_shop.py
    def test_profile_needs_login(alb_client):
        assert alb_client.get("/account/profile").status_code == 401

With ``both``, every test that uses ``alb_client``, ``alb_async_client``, ``alb_event`` or
``alb_multi_value_headers`` runs twice, once per header mode of the target group (test ids
``[single-value]`` and ``[multi-value]``); ``@pytest.mark.alb_header_modes`` asks for that on one
test, and ``pytest -o alb_multi_value_headers=both`` for one run. An ``alb_handler`` fixture in
conftest.py replaces the setting, for a handler the test suite builds itself.

The plugin is loaded in every pytest run where alb-adapter is installed, so it imports nothing at
load time beyond pytest and the standard library: the fixtures that need httpx (``alb_client``,
``alb_async_client``) import it when a test asks for them, and fail with the install command when
it is missing.
"""

from __future__ import annotations

import pytest

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Protocol

    from ..emulator.invocation import Handler, LambdaContext
    from .client import ALBClient, AsyncALBClient

    class EventFactory(Protocol):
        """What the ``alb_event`` fixture is: ``make_event`` in the test's header mode."""

        def __call__(
            self, method: str = "GET", path: str = "/", **options: Any
        ) -> dict[str, Any]: ...


HANDLER_SETTING = "alb_handler"
MODE_SETTING = "alb_multi_value_headers"
MODE_FIXTURE = "alb_multi_value_headers"
MODES_MARKER = "alb_header_modes"
# The test ids of the two modes, as the target group attribute's two values read.
MODE_IDS = {False: "single-value", True: "multi-value"}
_MODE_CHOICES = {"false": (False,), "true": (True,), "both": (False, True)}
_CONFIGURED_MODES = pytest.StashKey[tuple[bool, ...]]()
INSTALL_LOCAL = "pip install 'alb-adapter[local]'"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        HANDLER_SETTING,
        "the Lambda handler the alb_handler fixture gives: 'module:attribute' (also "
        "'path/to/file.py:attribute' or Lambda's 'file.function'); a bare WSGI or ASGI app is "
        "wrapped in its handler",
        default="",
    )
    parser.addini(
        MODE_SETTING,
        "the target group's header mode for the alb_* fixtures: false (single-value, ALB's "
        "default), true (lambda.multi_value_headers.enabled), or both (each test runs twice)",
        default="false",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MODES_MARKER}(*modes): run this test in both ALB header modes (single-value and "
        "multi-value), whatever alb_multi_value_headers says; alb_header_modes(True) or (False) "
        "runs it in that mode only",
    )
    setting = str(config.getini(MODE_SETTING)).strip().lower()
    if setting not in _MODE_CHOICES:
        raise pytest.UsageError(
            f"{MODE_SETTING} = {setting!r} in the pytest configuration: expected false, true "
            "or both"
        )
    config.stash[_CONFIGURED_MODES] = _MODE_CHOICES[setting]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test once per header mode when it asks for more than the configured single one.

    Parametrizing the ``alb_multi_value_headers`` argument overrides that fixture (pytest's
    direct parametrization), so every ``alb_*`` fixture a test uses sees the same mode; a test
    that parametrizes the argument itself keeps its own values.
    """
    if MODE_FIXTURE not in metafunc.fixturenames or _parametrized_by_the_test(metafunc):
        return
    marker = metafunc.definition.get_closest_marker(MODES_MARKER)
    if marker is not None:
        modes = _marker_modes(marker)
    else:
        modes = metafunc.config.stash[_CONFIGURED_MODES]
        if len(modes) == 1:
            return  # the fixture gives the one mode; test ids stay as they were
    metafunc.parametrize(MODE_FIXTURE, modes, ids=[MODE_IDS[mode] for mode in modes])


def _parametrized_by_the_test(metafunc: pytest.Metafunc) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if MODE_FIXTURE in names:
            return True
    return False


def _marker_modes(marker: pytest.Mark) -> tuple[bool, ...]:
    if marker.kwargs or not all(isinstance(mode, bool) for mode in marker.args):
        raise pytest.UsageError(
            f"@pytest.mark.{MODES_MARKER} takes the modes as True/False positional arguments "
            f"(or none, for both), got {marker.args!r} {marker.kwargs!r}"
        )
    return tuple(dict.fromkeys(marker.args)) if marker.args else (False, True)


@pytest.fixture
def alb_client(alb_handler: Handler, alb_multi_value_headers: bool) -> Iterator[ALBClient]:
    """An httpx client whose requests go through ALB to ``alb_handler``, in the test's header
    mode: a 502 wherever a real ALB would answer 502 (``ALBClient``; needs alb-adapter[local]).

        def test_login(alb_client):
            response = alb_client.post("/login", data={"user": "ada"})
            assert response.status_code == 302

    Each request becomes the event ALB builds, and the handler's answer is judged as ALB judges
    it, the reason for a 502 in the ``x-alb-emulator-error`` header. Cookies persist for the
    test; the client is closed after it. Base URL: ``https://alb-adapter.test``. In async tests
    use ``alb_async_client``: this one refuses to run inside an event loop.
    """
    client_class, _ = _httpx_clients("alb_client")
    with client_class(alb_handler, multi_value_headers=alb_multi_value_headers) as client:
        yield client


@pytest.fixture
def alb_async_client(
    alb_handler: Handler, alb_multi_value_headers: bool
) -> Iterator[AsyncALBClient]:
    """``alb_client`` for async tests (pytest-asyncio, anyio): an httpx async client through ALB
    to ``alb_handler`` (``AsyncALBClient``; needs alb-adapter[local]).

        @pytest.mark.asyncio                     # or @pytest.mark.anyio
        async def test_login(alb_async_client):
            response = await alb_async_client.post("/login", data={"user": "ada"})
            assert response.status_code == 302

    The handler runs in a worker thread, never on the test's loop, and one request at a time:
    concurrent requests (``asyncio.gather``) queue, as in one execution environment. The client
    is closed after the test; the handler is left open.
    """
    _, client_class = _httpx_clients("alb_async_client")
    client = client_class(alb_handler, multi_value_headers=alb_multi_value_headers)
    yield client
    if not client.is_closed:
        _close_on_a_loop_of_its_own(client)


@pytest.fixture(scope="session")
def alb_handler(pytestconfig: pytest.Config) -> Handler:
    """The Lambda handler under test: the one the ``alb_handler`` setting names
    (``alb_handler = "lambda_function:handler"`` in the pytest configuration), or your own
    ``alb_handler`` fixture in conftest.py, which replaces this one.

        [tool.pytest.ini_options]
        alb_handler = "lambda_function:handler"   # or path/to/file.py:handler

    Loaded once per session, as Lambda builds it once per execution environment, and left
    open (as in Lambda, handlers still alive at exit are shut down then). The module must be
    importable where pytest runs (pytest's ``pythonpath`` setting adds folders). A bare WSGI or
    ASGI app is wrapped in its handler. To build the handler yourself::

        @pytest.fixture(scope="session")
        def alb_handler():
            with ASGIHandler(create_app()) as handler:
                yield handler
    """
    spec = str(pytestconfig.getini(HANDLER_SETTING)).strip()
    if not spec:
        pytest.fail(
            "no Lambda handler to test: name it in the pytest configuration "
            '(alb_handler = "lambda_function:handler" under [tool.pytest.ini_options] in '
            "pyproject.toml, or in pytest.ini), or define an alb_handler fixture in conftest.py "
            "that returns it",
            pytrace=False,
        )
    from ..emulator.loader import TargetLoadError, load_target

    try:
        handler: Handler = load_target(spec)
    except TargetLoadError as exc:
        failure = _load_failure(exc)
    else:
        return handler
    # Outside the except block: the message says it all, without the loader's exception chain.
    pytest.fail(failure, pytrace=False)


@pytest.fixture
def alb_event(alb_multi_value_headers: bool) -> EventFactory:
    """``alb_event("POST", "/login", form={"user": "ada"})``: the event ALB sends a Lambda
    target for that request, in the test's header mode (``make_event``).

        response = alb_handler(alb_event("GET", "/account/"), lambda_context)

    The arguments are ``alb_adapter.testing.make_event``'s (``query=``, ``headers=``,
    ``json=``, ``form=``, ``body=``, ``client_ip=``...); ``multi_value_headers`` defaults to the
    test's mode. ``read_response(response, multi_value_headers=...)`` reads the answer back.
    """
    from .events import make_event

    def build_event(method: str = "GET", path: str = "/", **options: Any) -> dict[str, Any]:
        options.setdefault("multi_value_headers", alb_multi_value_headers)
        return make_event(method, path, **options)

    return build_event


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A fresh stand-in for the Lambda context (``alb_adapter.testing.LambdaContext``): the real
    one's attributes, and ``get_remaining_time_in_millis()`` counting down from 30 s.

        response = alb_handler(alb_event("GET", "/"), lambda_context)
    """
    from ..emulator.invocation import LambdaContext

    return LambdaContext()


@pytest.fixture
def alb_multi_value_headers(request: pytest.FixtureRequest) -> bool:
    """The test's ALB header mode (True: the target group has multi-value headers enabled),
    which every ``alb_*`` fixture follows: the ``alb_multi_value_headers`` setting, false,
    true or both.

    With ``both``, or on a test marked ``@pytest.mark.alb_header_modes``, the test runs once per
    mode (ids ``[single-value]`` and ``[multi-value]``); ``pytest -o
    alb_multi_value_headers=both`` does it for one run. Ask for this fixture to check what
    differs between the modes (the ``headers`` or ``multiValueHeaders`` field of an answer).
    """
    modes = request.config.stash[_CONFIGURED_MODES]
    return modes[0]


def _load_failure(exc: Exception) -> str:
    message = f"cannot load the Lambda handler named by the pytest setting alb_handler: {exc}"
    cause = exc.__cause__
    if isinstance(cause, ModuleNotFoundError):
        return f"{message} (pytest's pythonpath setting adds folders to sys.path)"
    if cause is not None:  # the module failed while importing: show where, in its own code
        return f"{message}\n\n{_traceback_outside_the_import_machinery(cause)}"
    return message


def _traceback_outside_the_import_machinery(exc: BaseException) -> str:
    import importlib
    import traceback
    from pathlib import Path

    from ..emulator import loader

    machinery = (Path(importlib.__file__).parent, Path(loader.__file__))
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<frozen ")
        and not any(Path(frame.filename).is_relative_to(path) for path in machinery)
    ]
    return "".join(
        [
            "Traceback (most recent call last):\n",
            *traceback.format_list(frames),
            *traceback.format_exception_only(exc),
        ]
    )


def _httpx_clients(fixture: str) -> tuple[type[ALBClient], type[AsyncALBClient]]:
    """The client classes (``alb_adapter.testing.client``), or a failed test saying what to
    install: they are httpx clients, and httpx comes with the ``local`` extra only."""
    try:
        from .client import ALBClient, AsyncALBClient
    except ModuleNotFoundError as exc:
        if exc.name not in ("httpx", "anyio"):  # anyio comes with httpx
            raise
        pytest.fail(
            f"the {fixture} fixture is an httpx client, and httpx is not installed: "
            f"{INSTALL_LOCAL}",
            pytrace=False,
        )
    return ALBClient, AsyncALBClient


def _close_on_a_loop_of_its_own(client: AsyncALBClient) -> None:
    """Close the async client after its test, wherever the test's loop has gone.

    The fixture is synchronous so that it serves pytest-asyncio, anyio and any other runner
    alike (each wants its own kind of async fixture). The client is bound to no loop (its
    transport calls the handler in a thread), so a loop made for this call alone closes it; it
    is never set as the thread's loop, so the test runner's loops are left as they were.
    """
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
