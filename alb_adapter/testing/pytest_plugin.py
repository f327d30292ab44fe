"""The pytest plugin: fixtures that send a test's requests through ALB (or another front door)
to your Lambda handler.

Installed with the package (the ``pytest11`` entry point ``alb_adapter``), so there is nothing to
import; one setting names the handler Lambda calls::

    # pyproject.toml
    [tool.pytest.ini_options]
    alb_handler = "lambda_function:handler"
    alb_multi_value_headers = "both"        # false (the default), true, or both
    alb_source = "alb apigw-http-v2"        # alb (the default), several names, or all
    alb_stage = "prod"                      # API Gateway runs: the execute-api URL's stage

    # test_shop.py
    def test_profile_needs_login(alb_client):
        assert alb_client.get("/account/profile").status_code == 401

With ``both``, every test that uses ``alb_client``, ``alb_async_client``, ``alb_event`` or
``alb_multi_value_headers`` runs twice, once per header mode of the target group (test ids
``[single-value]`` and ``[multi-value]``); ``@pytest.mark.alb_header_modes`` asks for that on one
test, and ``pytest -o alb_multi_value_headers=both`` for one run. An ``alb_handler`` fixture in
conftest.py replaces the setting, for a handler the test suite builds itself.

``alb_source`` names the front doors the function sits behind (those of
``alb_adapter/emulator/services.py``: ``alb``, ``apigw-rest``, ``apigw-http-v1``,
``apigw-http-v2``, ``function-url``, ``vpc-lattice-v2``, ``vpc-lattice-v1``, or ``all``). With
several, the same tests run once behind each (ids ``[alb]``, ``[apigw-rest]``...); the header
modes are ALB's alone, so only the ALB runs are multiplied by them (``[alb-single-value]``,
``[alb-multi-value]``, ``[apigw-rest]``...). ``@pytest.mark.alb_sources(...)`` chooses the front
doors of one test (none named: all of them). ``alb_stage`` puts API Gateway's runs on the API's
execute-api URL under that stage, which ``alb_client`` and ``alb_event`` add in front of the
test's paths, as the stage is part of the API's invoke URL (``/account/`` is requested as
``/prod/account/``); without it API Gateway is reached through a custom domain, the client's own
host. A test that parametrizes ``alb_source`` or ``alb_multi_value_headers`` itself keeps its own
values and is not multiplied by the plugin; the other of the two then takes its first configured
value.

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
        """What the ``alb_event`` fixture is: ``make_event`` for the test's front door, header
        mode and stage."""

        def __call__(
            self, method: str = "GET", path: str = "/", **options: Any
        ) -> dict[str, Any]: ...


HANDLER_SETTING = "alb_handler"
MODE_SETTING = "alb_multi_value_headers"
MODE_FIXTURE = "alb_multi_value_headers"
MODES_MARKER = "alb_header_modes"
SOURCE_SETTING = "alb_source"
SOURCE_FIXTURE = "alb_source"
SOURCES_MARKER = "alb_sources"
STAGE_SETTING = "alb_stage"
DEFAULT_SOURCE = "alb"
# The test ids of the two modes, as the target group attribute's two values read.
MODE_IDS = {False: "single-value", True: "multi-value"}
_MODE_CHOICES = {"false": (False,), "true": (True,), "both": (False, True)}
_CONFIGURED_MODES = pytest.StashKey[tuple[bool, ...]]()
_CONFIGURED_SOURCES = pytest.StashKey[tuple[str, ...]]()
_CONFIGURED_STAGE = pytest.StashKey["str | None"]()
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
    parser.addini(
        SOURCE_SETTING,
        "the front door of the alb_* fixtures: alb (the default), apigw-rest, apigw-http-v1, "
        "apigw-http-v2, function-url, vpc-lattice-v2, vpc-lattice-v1; several names, or all, "
        "run each test behind each",
        default=DEFAULT_SOURCE,
    )
    parser.addini(
        STAGE_SETTING,
        "API Gateway runs only: the stage whose execute-api URL the alb_* fixtures use, in "
        "front of every path (empty, the default: a custom domain)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MODES_MARKER}(*modes): run this test in both ALB header modes (single-value and "
        "multi-value), whatever alb_multi_value_headers says; alb_header_modes(True) or (False) "
        "runs it in that mode only",
    )
    config.addinivalue_line(
        "markers",
        f"{SOURCES_MARKER}(*names): run this test behind each of these front doors (alb, "
        "apigw-rest, ...), whatever alb_source says; alb_sources() runs it behind all of them",
    )
    setting = str(config.getini(MODE_SETTING)).strip().lower()
    if setting not in _MODE_CHOICES:
        raise pytest.UsageError(
            f"{MODE_SETTING} = {setting!r} in the pytest configuration: expected false, true "
            "or both"
        )
    config.stash[_CONFIGURED_MODES] = _MODE_CHOICES[setting]
    sources = str(config.getini(SOURCE_SETTING)).replace(",", " ").lower().split()
    config.stash[_CONFIGURED_SOURCES] = (
        (DEFAULT_SOURCE,)
        if sources in ([], [DEFAULT_SOURCE])
        else _known_sources(
            sources, f"{SOURCE_SETTING} = {' '.join(sources)!r} in the pytest configuration"
        )
    )
    config.stash[_CONFIGURED_STAGE] = _stage_setting(str(config.getini(STAGE_SETTING)).strip())


def _known_sources(names: list[str], where: str) -> tuple[str, ...]:
    """The front doors ``names`` lists (``all``: every one), in order and once each, or a usage
    error naming those that exist. The list is read only when a run asks for front doors other
    than ALB, so a run with the defaults imports nothing more."""
    from ..emulator.services import SERVICES

    if names == ["all"]:
        return tuple(SERVICES)
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise pytest.UsageError(
            f"{where}: no front door called {', '.join(map(repr, unknown))}; expected all, or "
            f"names among {', '.join(SERVICES)}"
        )
    return tuple(dict.fromkeys(names))


def _stage_setting(stage: str) -> str | None:
    """The ``alb_stage`` setting: a stage name as it appears in the execute-api URL, or None."""
    if not stage:
        return None
    # API Gateway's rule for stage names: letters, digits, hyphens and underscores.
    if not (stage.isascii() and stage.replace("-", "").replace("_", "").isalnum()):
        raise pytest.UsageError(
            f"{STAGE_SETTING} = {stage!r} in the pytest configuration: expected a stage name as "
            "it appears in the API's execute-api URL (prod for .../prod/items), or nothing for "
            "a custom domain or an HTTP API's $default stage"
        )
    return stage


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test once per front door and, behind ALB, once per header mode, when it asks for
    more than the configured single run.

    Parametrizing the ``alb_source`` and ``alb_multi_value_headers`` arguments overrides those
    fixtures (pytest's direct parametrization), so every ``alb_*`` fixture a test uses sees the
    same front door and mode. Header modes are ALB's target-group setting: the other front doors
    have one event format, and run once each, in "single-value" (``alb_multi_value_headers`` is
    False for them). A test that parametrizes either argument itself keeps its own values.
    """
    names = metafunc.fixturenames
    if SOURCE_FIXTURE not in names or any(
        _parametrized_by_the_test(metafunc, name) for name in (SOURCE_FIXTURE, MODE_FIXTURE)
    ):
        return
    config = metafunc.config
    sources_marker = metafunc.definition.get_closest_marker(SOURCES_MARKER)
    modes_marker = metafunc.definition.get_closest_marker(MODES_MARKER)
    sources = (
        config.stash[_CONFIGURED_SOURCES]
        if sources_marker is None
        else _marker_sources(sources_marker)
    )
    with_modes = MODE_FIXTURE in names
    if not with_modes:  # the test uses the front door alone (alb_source, alb_stage)
        if sources_marker is None and len(sources) == 1:
            return
        metafunc.parametrize(SOURCE_FIXTURE, sources, ids=list(sources))
        return
    modes = config.stash[_CONFIGURED_MODES] if modes_marker is None else _marker_modes(modes_marker)
    runs = [
        (source, mode) for source in sources for mode in (modes if source == "alb" else (False,))
    ]
    if sources_marker is None and modes_marker is None and len(runs) == 1:
        return  # the fixtures give the one run; test ids stay as they were
    metafunc.parametrize(
        (SOURCE_FIXTURE, MODE_FIXTURE), runs, ids=[_run_id(run, sources, modes) for run in runs]
    )


def _run_id(run: tuple[str, bool], sources: tuple[str, ...], modes: tuple[bool, ...]) -> str:
    """A run's test id: the mode alone where ALB is the only front door (``single-value``, as
    before there were others), else the front door, with the mode behind ALB when ALB runs in
    another mode than its default or in several (``alb-multi-value``, ``apigw-rest``)."""
    source, mode = run
    if sources == (DEFAULT_SOURCE,):
        return MODE_IDS[mode]
    if source != "alb" or modes == (False,):
        return source
    return f"{source}-{MODE_IDS[mode]}"


def _parametrized_by_the_test(metafunc: pytest.Metafunc, argument: str) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if argument in names:
            return True
    return False


def _marker_sources(marker: pytest.Mark) -> tuple[str, ...]:
    if marker.kwargs or not all(isinstance(name, str) for name in marker.args):
        raise pytest.UsageError(
            f"@pytest.mark.{SOURCES_MARKER} takes front door names as positional arguments "
            f"(or none, for all), got {marker.args!r} {marker.kwargs!r}"
        )
    names = [name.lower() for name in marker.args] or ["all"]
    where = f"@pytest.mark.{SOURCES_MARKER}({', '.join(map(repr, marker.args))})"
    return _known_sources(names, where)


def _marker_modes(marker: pytest.Mark) -> tuple[bool, ...]:
    if marker.kwargs or not all(isinstance(mode, bool) for mode in marker.args):
        raise pytest.UsageError(
            f"@pytest.mark.{MODES_MARKER} takes the modes as True/False positional arguments "
            f"(or none, for both), got {marker.args!r} {marker.kwargs!r}"
        )
    return tuple(dict.fromkeys(marker.args)) if marker.args else (False, True)


@pytest.fixture
def alb_client(
    alb_handler: Handler, alb_source: str, alb_multi_value_headers: bool, alb_stage: str | None
) -> Iterator[ALBClient]:
    """An httpx client whose requests go through ALB (or the test's front door, ``alb_source``)
    to ``alb_handler``, in the test's header mode: a 502 wherever a real ALB would answer 502
    (``ALBClient``; needs alb-adapter[local]).

        def test_login(alb_client):
            response = alb_client.post("/login", data={"user": "ada"})
            assert response.status_code == 302

    Each request becomes the event the front door builds, and the handler's answer is judged as
    it judges it, the reason for its own error answer in the ``x-alb-emulator-error`` header.
    Cookies persist for the test; the client is closed after it. Base URL:
    ``https://alb-adapter.test`` (for API Gateway a custom domain), a Function URL's own domain,
    or, with ``alb_stage``, the API's invoke URL,
    ``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``, which puts the stage in
    front of every path. In async tests use ``alb_async_client``: this one refuses to run inside
    an event loop.
    """
    client_class, _ = _httpx_clients("alb_client")
    with client_class(
        alb_handler, **_client_options(alb_source, alb_multi_value_headers, alb_stage)
    ) as client:
        yield client


@pytest.fixture
def alb_async_client(
    alb_handler: Handler, alb_source: str, alb_multi_value_headers: bool, alb_stage: str | None
) -> Iterator[AsyncALBClient]:
    """``alb_client`` for async tests (pytest-asyncio, anyio): an httpx async client through ALB
    (or the test's front door) to ``alb_handler`` (``AsyncALBClient``; needs alb-adapter[local]).

        @pytest.mark.asyncio                     # or @pytest.mark.anyio
        async def test_login(alb_async_client):
            response = await alb_async_client.post("/login", data={"user": "ada"})
            assert response.status_code == 302

    The handler runs in a worker thread, never on the test's loop, and one request at a time:
    concurrent requests (``asyncio.gather``) queue, as in one execution environment. The client
    is closed after the test; the handler is left open.
    """
    _, client_class = _httpx_clients("alb_async_client")
    client = client_class(
        alb_handler, **_client_options(alb_source, alb_multi_value_headers, alb_stage)
    )
    yield client
    if not client.is_closed:
        _close_on_a_loop_of_its_own(client)


def _client_options(source: str, multi_value_headers: bool, stage: str | None) -> dict[str, Any]:
    """The test's run as the clients' options, with the base URL a client of that front door
    uses, so that the app's absolute URLs (``url_for``) are those the client asked for: under a
    stage the API's invoke URL (a test's ``/account/`` is the client's ``/prod/account/``), for
    a Function URL its own domain (it has no custom domains), elsewhere the clients' default."""
    options: dict[str, Any] = {
        "source": source,
        "multi_value_headers": multi_value_headers,
        "stage": stage,
    }
    if stage is not None:
        from ..sources.service_side import execute_api_domain

        options["base_url"] = f"https://{execute_api_domain()}/{stage}"
    elif source == "function-url":
        from ..sources.apigateway_v2.service import function_url_domain

        options["base_url"] = f"https://{function_url_domain()}"
    return options


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
def alb_event(
    alb_source: str, alb_multi_value_headers: bool, alb_stage: str | None
) -> EventFactory:
    """``alb_event("POST", "/login", form={"user": "ada"})``: the event ALB (or the test's front
    door) sends a Lambda target for that request, in the test's header mode (``make_event``).

        response = alb_handler(alb_event("GET", "/account/"), lambda_context)

    The arguments are ``alb_adapter.testing.make_event``'s (``query=``, ``headers=``,
    ``json=``, ``form=``, ``body=``, ``client_ip=``...); ``source``, ``multi_value_headers``
    and ``stage`` default to the test's, and under a stage the path is below it, as
    ``alb_client``'s are (``/account/`` is sent as ``/prod/account/``).
    ``read_response(response, multi_value_headers=..., source=...)`` reads the answer back.
    """
    from .events import make_event

    def build_event(method: str = "GET", path: str = "/", **options: Any) -> dict[str, Any]:
        options.setdefault("source", alb_source)
        options.setdefault("multi_value_headers", alb_multi_value_headers)
        if "stage" not in options and alb_stage is not None:
            options["stage"] = alb_stage
            path = f"/{alb_stage}{path}"
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
def alb_multi_value_headers(request: pytest.FixtureRequest, alb_source: str) -> bool:
    """The test's ALB header mode (True: the target group has multi-value headers enabled),
    which every ``alb_*`` fixture follows: the ``alb_multi_value_headers`` setting, false,
    true or both. Always False behind the other front doors, which have one event format.

    With ``both``, or on a test marked ``@pytest.mark.alb_header_modes``, the test runs once per
    mode (ids ``[single-value]`` and ``[multi-value]``); ``pytest -o
    alb_multi_value_headers=both`` does it for one run. Ask for this fixture to check what
    differs between the modes (the ``headers`` or ``multiValueHeaders`` field of an answer).
    """
    if alb_source != "alb":
        return False
    modes = request.config.stash[_CONFIGURED_MODES]
    return modes[0]


@pytest.fixture
def alb_source(request: pytest.FixtureRequest) -> str:
    """The test's front door, which every ``alb_*`` fixture follows: ``"alb"`` (the default),
    ``"apigw-rest"``, ``"apigw-http-v1"``, ``"apigw-http-v2"``, ``"function-url"``,
    ``"vpc-lattice-v2"`` or ``"vpc-lattice-v1"``, as the ``alb_source`` setting says.

    With several front doors in the setting (or ``all``), or on a test marked
    ``@pytest.mark.alb_sources(...)``, the test runs once behind each (ids ``[alb]``,
    ``[apigw-rest]``...; ALB's runs also once per header mode with
    ``alb_multi_value_headers = both``). Ask for this fixture where the front doors differ by
    design (a REST API's ``Content-Type`` on an answer without one, the client address).
    """
    sources = request.config.stash[_CONFIGURED_SOURCES]
    return sources[0]


@pytest.fixture
def alb_stage(request: pytest.FixtureRequest, alb_source: str) -> str | None:
    """The API Gateway stage of the test's run: the ``alb_stage`` setting behind API Gateway,
    None behind the other front doors (and without the setting, where API Gateway is reached
    through a custom domain). ``alb_client`` and ``alb_event`` put it in front of the test's
    paths, and the app's absolute URLs then start with the API's invoke URL
    (``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``)."""
    if not alb_source.startswith("apigw-"):
        return None
    return request.config.stash[_CONFIGURED_STAGE]


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
