"""The pytest plugin (alb_adapter/testing/pytest_plugin.py), run the way users run it: pytest
sessions in fresh project directories (``pytester``), with the plugin found through its
``pytest11`` entry point, the handler named by a setting or by a conftest fixture, and tests in
both header modes, sync and async (pytest-asyncio and anyio's plugin).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

# The inner project's Lambda function: the same JSON answer from a WSGI app and an ASGI app, with
# what tells the two header modes apart (the event's field) and two cookies, which each mode
# carries in its own way.
LAMBDA_FUNCTION = """
import json

from alb_adapter import ASGIHandler, WSGIHandler


def seen(method, path, query, event):
    return json.dumps(
        {
            "method": method,
            "path": path,
            "query": query,
            "multi_value_headers": "multiValueHeaders" in event,
        }
    ).encode()


def wsgi_app(environ, start_response):
    body = seen(
        environ["REQUEST_METHOD"],
        environ["PATH_INFO"].encode("latin-1").decode("utf-8"),
        environ["QUERY_STRING"],
        environ["aws.event"],
    )
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    return [body]


async def asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = seen(scope["method"], scope["path"], scope["query_string"].decode(), scope["aws.event"])
    headers = [(b"content-type", b"application/json"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


handler = WSGIHandler(wsgi_app)
"""

# What the inner tests assert about a GET /café?q=a+b through the client, in either mode.
EXPECTED_RESPONSE = """
import json


def expected_body(multi_value_headers):
    return json.dumps(
        {
            "method": "GET",
            "path": "/café",
            "query": "q=a+b",
            "multi_value_headers": multi_value_headers,
        }
    ).encode()


def assert_whole_response(response, multi_value_headers):
    body = expected_body(multi_value_headers)
    assert response.status_code == 200
    assert response.headers.multi_items() == [
        ("content-type", "application/json"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("content-length", str(len(body))),
    ]
    assert response.content == body
"""

SETTINGS = """
[pytest]
alb_handler = lambda_function:handler
pythonpath = .
asyncio_default_fixture_loop_scope = function
"""

# None of the plugin's (pythonpath for the project's modules; pytest-asyncio's own setting, which
# it warns about when unset).
NO_SETTINGS = SETTINGS.replace("alb_handler = lambda_function:handler\n", "")

# Plugins of this environment that have nothing to do with the tests, off in in-process runs:
# hypothesis's imports hypothesis, assertion-rewritten, in every run (pytester takes the modules a
# run imported away again), about half a second each; pytest-django finds Django set up by the
# examples' tests in this same process and fails every test when it sets it up again.
UNRELATED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:django")


@pytest.fixture(autouse=True)
def fresh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Django example's conftest sets DJANGO_SETTINGS_MODULE for this whole session, and
    pytest-django would follow it into every inner run; a fresh project has no such setting."""
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A fresh project with a Lambda function, the helpers its tests share, and the setting."""
    pytester.makepyfile(lambda_function=LAMBDA_FUNCTION, expected=EXPECTED_RESPONSE)
    pytester.makeini(SETTINGS)
    return pytester


def test_the_fixtures_are_listed_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    """A subprocess, so nothing this session loaded helps: the entry point alone finds it."""
    result = pytester.runpytest_subprocess("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "*fixtures defined from alb_adapter.testing.pytest_plugin*",
            "alb_client -- *pytest_plugin.py:*",
            "    An httpx client whose requests go through ALB (or the test's front door, "
            "``alb_source``)",
            "alb_async_client -- *",
            "    ``alb_client`` for async tests (pytest-asyncio, anyio): an httpx async client "
            "through ALB",
            "alb_handler [[]session scope[]] -- *",
            "    The Lambda handler under test: the one the ``alb_handler`` setting names",
            "alb_event -- *",
            '    ``alb_event("POST", "/login", form={"user": "ada"})``: the event ALB (or the '
            "test's front",
            "lambda_context -- *",
            "    A fresh stand-in for the Lambda context (``alb_adapter.testing.LambdaContext``): "
            "the real",
            "alb_multi_value_headers -- *",
            "    The test's ALB header mode (True: the target group has multi-value headers "
            "enabled),",
            "alb_source -- *",
            '    The test\'s front door, which every ``alb_*`` fixture follows: ``"alb"`` (the '
            "default),",
            "alb_stage -- *",
            "    The API Gateway stage of the test's run: the ``alb_stage`` setting behind API "
            "Gateway,",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_help_documents_the_settings_and_the_marker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # the width --help wraps its lines to
    pytester.makeini(NO_SETTINGS)
    result = pytester.runpytest(*UNRELATED_PLUGINS, "--help")
    result.stdout.fnmatch_lines(
        [
            "  alb_handler (string): the Lambda handler the alb_handler fixture gives:",
            "  alb_multi_value_headers (string):",
            "*the target group's header mode for the alb_* fixtures:*",
            "  alb_source (string):  the front door of the alb_* fixtures: alb (the default),",
            "  alb_stage (string):   API Gateway runs only: the stage whose execute-api URL",
        ]
    )
    result = pytester.runpytest(*UNRELATED_PLUGINS, "--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.alb_header_modes(*modes): run this test in both ALB header modes "
            "(single-value and multi-value), whatever alb_multi_value_headers says; "
            "alb_header_modes(True) or (False) runs it in that mode only",
            "@pytest.mark.alb_sources(*names): run this test behind each of these front doors "
            "(alb, apigw-rest, ...), whatever alb_source says; alb_sources() runs it behind all "
            "of them",
        ]
    )


def test_the_plugin_imports_only_the_standard_library() -> None:
    """It is loaded in every pytest run where alb-adapter is installed, httpx or not."""
    probe = (
        "import sys; import pytest; before = set(sys.modules); "
        "import alb_adapter.testing.pytest_plugin; "
        "new = {name.partition('.')[0] for name in set(sys.modules) - before}; "
        "print(sorted(new - set(sys.stdlib_module_names)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['alb_adapter']"


def test_the_setting_loads_the_handler_from_a_module(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_shop="""
        import lambda_function
        from expected import assert_whole_response


        def test_the_handler_is_the_module_attribute(alb_handler):
            assert alb_handler is lambda_function.handler


        def test_requests_go_through_it(alb_client):
            assert_whole_response(alb_client.get("/caf%C3%A9?q=a+b"), multi_value_headers=False)


        def test_events_reach_it_in_the_configured_mode(alb_handler, alb_event, lambda_context):
            answer = alb_handler(alb_event("GET", "/caf%C3%A9?q=a+b"), lambda_context)
            assert "headers" in answer and "multiValueHeaders" not in answer
            assert answer["body"] == '{"method": "GET", "path": "/caf\\\\u00e9", "query": "q=a+b", "multi_value_headers": false}'
        """
    )
    project.runpytest(*UNRELATED_PLUGINS, "--strict-markers").assert_outcomes(passed=3)


def test_a_bare_app_named_by_the_setting_is_wrapped(project: pytest.Pytester) -> None:
    project.makeini(SETTINGS.replace("lambda_function:handler", "lambda_function:asgi_app"))
    project.makepyfile(
        test_shop="""
        from alb_adapter import ASGIHandler
        from expected import assert_whole_response


        def test_the_asgi_app_is_served_through_its_handler(alb_handler, alb_client):
            assert isinstance(alb_handler, ASGIHandler)
            assert_whole_response(alb_client.get("/caf%C3%A9?q=a+b"), multi_value_headers=False)
        """
    )
    project.runpytest(*UNRELATED_PLUGINS).assert_outcomes(passed=1)


def test_a_conftest_fixture_replaces_the_setting(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(lambda_function=LAMBDA_FUNCTION, expected=EXPECTED_RESPONSE)
    pytester.makeini(NO_SETTINGS)
    pytester.makeconftest(
        """
        import pytest

        from alb_adapter import ASGIHandler
        from lambda_function import asgi_app


        @pytest.fixture(scope="session")
        def alb_handler():
            with ASGIHandler(asgi_app) as handler:
                yield handler
        """
    )
    pytester.makepyfile(
        test_shop="""
        from alb_adapter import ASGIHandler
        from expected import assert_whole_response


        def test_the_conftest_handler_is_used(alb_handler, alb_client):
            assert isinstance(alb_handler, ASGIHandler)
            assert_whole_response(alb_client.get("/caf%C3%A9?q=a+b"), multi_value_headers=False)
        """
    )
    pytester.runpytest(*UNRELATED_PLUGINS).assert_outcomes(passed=1)


# --- header modes ------------------------------------------------------------------------------

# Each test appends the mode its fixtures saw, so the outer test sees how many runs there were
# and in which modes, not only that they passed.
MODE_TESTS = """
import pytest

from expected import assert_whole_response


def record(name, event, response, mode):
    assert ("multiValueHeaders" in event) is mode
    assert_whole_response(response, multi_value_headers=mode)
    with open("modes.txt", "a") as log:
        log.write(f"{name} {'multi-value' if mode else 'single-value'}\\n")


def test_unmarked(alb_event, alb_client, alb_multi_value_headers):
    response = alb_client.get("/caf%C3%A9?q=a+b")
    record("unmarked", alb_event("GET", "/"), response, alb_multi_value_headers)


@pytest.mark.alb_header_modes
def test_marked(alb_event, alb_client, alb_multi_value_headers):
    response = alb_client.get("/caf%C3%A9?q=a+b")
    record("marked", alb_event("GET", "/"), response, alb_multi_value_headers)


@pytest.mark.alb_header_modes(True)
def test_marked_multi_only(alb_event, alb_client, alb_multi_value_headers):
    response = alb_client.get("/caf%C3%A9?q=a+b")
    record("multi-only", alb_event("GET", "/"), response, alb_multi_value_headers)


@pytest.mark.parametrize("alb_multi_value_headers", [False], ids=["own"])
def test_own_parametrization(alb_event, alb_client, alb_multi_value_headers):
    response = alb_client.get("/caf%C3%A9?q=a+b")
    record("own", alb_event("GET", "/"), response, alb_multi_value_headers)
"""


@pytest.mark.parametrize(
    ("setting", "expected_runs"),
    [
        (
            "false",
            [
                "test_modes.py::test_unmarked PASSED*",
                "test_modes.py::test_marked[[]single-value[]] PASSED*",
                "test_modes.py::test_marked[[]multi-value[]] PASSED*",
                "test_modes.py::test_marked_multi_only[[]multi-value[]] PASSED*",
                "test_modes.py::test_own_parametrization[[]own[]] PASSED*",
            ],
        ),
        (
            "true",
            [
                "test_modes.py::test_unmarked PASSED*",
                "test_modes.py::test_marked[[]single-value[]] PASSED*",
                "test_modes.py::test_marked[[]multi-value[]] PASSED*",
                "test_modes.py::test_marked_multi_only[[]multi-value[]] PASSED*",
                "test_modes.py::test_own_parametrization[[]own[]] PASSED*",
            ],
        ),
        (
            "both",
            [
                "test_modes.py::test_unmarked[[]single-value[]] PASSED*",
                "test_modes.py::test_unmarked[[]multi-value[]] PASSED*",
                "test_modes.py::test_marked[[]single-value[]] PASSED*",
                "test_modes.py::test_marked[[]multi-value[]] PASSED*",
                "test_modes.py::test_marked_multi_only[[]multi-value[]] PASSED*",
                "test_modes.py::test_own_parametrization[[]own[]] PASSED*",
            ],
        ),
    ],
)
def test_header_modes_run_as_configured(
    project: pytest.Pytester, setting: str, expected_runs: list[str]
) -> None:
    project.makeini(f"{SETTINGS}alb_multi_value_headers = {setting}\n")
    project.makepyfile(test_modes=MODE_TESTS)
    result = project.runpytest(*UNRELATED_PLUGINS, "-v", "--strict-markers")
    result.stdout.fnmatch_lines(expected_runs, consecutive=True)
    result.assert_outcomes(passed=len(expected_runs))
    configured = {"false": ["single-value"], "true": ["multi-value"]}.get(
        setting, ["single-value", "multi-value"]
    )
    runs = (project.path / "modes.txt").read_text().splitlines()
    assert runs == [
        *(f"unmarked {mode}" for mode in configured),
        "marked single-value",
        "marked multi-value",
        "multi-only multi-value",
        "own single-value",
    ]


def test_an_unknown_mode_setting_stops_the_run(project: pytest.Pytester) -> None:
    result = project.runpytest(*UNRELATED_PLUGINS, "-o", "alb_multi_value_headers=yes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: alb_multi_value_headers = 'yes' in the pytest configuration: expected false, "
            "true or both"
        ]
    )


def test_a_marker_with_other_arguments_is_refused(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_modes="""
        import pytest

        @pytest.mark.alb_header_modes("multi")
        def test_x(alb_multi_value_headers):
            pass
        """
    )
    result = project.runpytest(*UNRELATED_PLUGINS)
    result.stdout.fnmatch_lines(
        [
            "E   pytest.UsageError: @pytest.mark.alb_header_modes takes the modes as True/False "
            "positional arguments (or none, for both), got ('multi',) {}",
        ]
    )
    result.assert_outcomes(errors=1)


# --- front doors and stages --------------------------------------------------------------------

# A function that says which front door's event reached it, and where the app thinks it is: the
# URL it would build for the request (wsgiref's request_uri, from Host, SCRIPT_NAME and PATH_INFO).
FRONT_DOOR_FUNCTION = """
import json
from wsgiref.util import request_uri

from alb_adapter import WSGIHandler
from alb_adapter.sources import find_source


def app(environ, start_response):
    event = environ["aws.event"]
    source = find_source(event).name
    body = json.dumps(
        {
            "source": source,
            "multi_value_headers": source == "alb" and "multiValueHeaders" in event,
            "script_name": environ["SCRIPT_NAME"],
            "url": request_uri(environ),
        }
    ).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    return [body]


handler = WSGIHandler(app)
"""

# Each inner test writes what its fixtures gave and what the function saw, one line per run, so
# the outer test sees every run, not only that it passed. The client's URL and the app's must be
# the same, and both Set-Cookie must arrive, behind every front door.
FRONT_DOOR_TESTS = """
import json

import pytest

from alb_adapter.testing import read_response


def record(name, seen, source, mode, stage):
    assert seen["source"] == source
    assert seen["multi_value_headers"] is mode
    with open("runs.txt", "a") as log:
        log.write(f"{name} {source} {mode} {stage} {seen['script_name']!r} {seen['url']}\\n")


def test_client(alb_client, alb_source, alb_multi_value_headers, alb_stage):
    response = alb_client.get("/items?q=1")
    assert response.status_code == 200
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    seen = response.json()
    assert seen["url"] == str(response.request.url)
    record("client", seen, alb_source, alb_multi_value_headers, alb_stage)


def test_event(alb_event, alb_handler, lambda_context, alb_source, alb_multi_value_headers, alb_stage):
    answer = alb_handler(alb_event("GET", "/items?q=1"), lambda_context)
    response = read_response(answer, multi_value_headers=alb_multi_value_headers, source=alb_source)
    assert response.header_values("set-cookie") == ["a=1", "b=2"]
    record("event", response.json(), alb_source, alb_multi_value_headers, alb_stage)


@pytest.mark.asyncio
async def test_async_client(alb_async_client, alb_source, alb_multi_value_headers, alb_stage):
    response = await alb_async_client.get("/items?q=1")
    seen = response.json()
    assert seen["url"] == str(response.request.url)
    record("async", seen, alb_source, alb_multi_value_headers, alb_stage)
"""

# The services' example hosts (alb_adapter/sources/service_side.py, apigateway_v2/service.py).
EXECUTE_API = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL = "abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"
ALL_SOURCES = [
    "alb",
    "apigw-rest",
    "apigw-http-v1",
    "apigw-http-v2",
    "function-url",
    "vpc-lattice-v2",
    "vpc-lattice-v1",
]


@pytest.fixture
def front_doors(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(front_door_function=FRONT_DOOR_FUNCTION, test_front_doors=FRONT_DOOR_TESTS)
    pytester.makeini(SETTINGS.replace("lambda_function:handler", "front_door_function:handler"))
    return pytester


def runs_of(project: pytest.Pytester) -> list[str]:
    return (project.path / "runs.txt").read_text().splitlines()


def test_every_test_runs_behind_every_front_door_and_alb_in_both_modes(
    front_doors: pytest.Pytester,
) -> None:
    result = front_doors.runpytest(
        *UNRELATED_PLUGINS, "-v", "-o", "alb_source=all", "-o", "alb_multi_value_headers=both"
    )

    ids = ["alb-single-value", "alb-multi-value", *ALL_SOURCES[1:]]
    result.stdout.fnmatch_lines(
        [
            f"test_front_doors.py::test_{test}[[]{run}[]] PASSED*"
            for test in ("client", "event", "async_client")
            for run in ids
        ],
        consecutive=True,
    )
    result.assert_outcomes(passed=3 * len(ids))
    # Every URL the app built is the one the client asked for: the clients' default host, and a
    # Function URL's own domain (it has no custom domains); make_event's default host is
    # example.com.
    url, function_url = "https://alb-adapter.test/items?q=1", f"https://{FUNCTION_URL}/items?q=1"
    client_runs = [
        f"alb False None '' {url}",
        f"alb True None '' {url}",
        f"apigw-rest False None '' {url}",
        f"apigw-http-v1 False None '' {url}",
        f"apigw-http-v2 False None '' {url}",
        f"function-url False None '' {function_url}",
        f"vpc-lattice-v2 False None '' {url}",
        f"vpc-lattice-v1 False None '' {url}",
    ]
    event_runs = [run.replace("alb-adapter.test", "example.com") for run in client_runs]
    assert runs_of(front_doors) == [
        *(f"client {run}" for run in client_runs),
        *(f"event {run}" for run in event_runs),
        *(f"async {run}" for run in client_runs),
    ]


def test_a_stage_puts_api_gateway_on_its_invoke_url(front_doors: pytest.Pytester) -> None:
    """The test's paths stay the app's own (``/items``); behind API Gateway the client asks
    the execute-api URL with the stage in front, and the app, whose mount point is the stage,
    builds that same URL. The other front doors are left as they were."""
    result = front_doors.runpytest(
        *UNRELATED_PLUGINS,
        "-v",
        "-o",
        "alb_source=alb apigw-rest apigw-http-v2 function-url",
        "-o",
        "alb_stage=prod",
        "-k",
        "not async",
    )

    result.stdout.fnmatch_lines(
        [
            f"test_front_doors.py::test_{test}[[]{source}[]] PASSED*"
            for test in ("client", "event")
            for source in ("alb", "apigw-rest", "apigw-http-v2", "function-url")
        ],
        consecutive=True,
    )
    invoke_url = f"https://{EXECUTE_API}/prod/items?q=1"
    assert runs_of(front_doors) == [
        "client alb False None '' https://alb-adapter.test/items?q=1",
        f"client apigw-rest False prod '/prod' {invoke_url}",
        f"client apigw-http-v2 False prod '/prod' {invoke_url}",
        f"client function-url False None '' https://{FUNCTION_URL}/items?q=1",
        "event alb False None '' https://example.com/items?q=1",
        f"event apigw-rest False prod '/prod' {invoke_url}",
        f"event apigw-http-v2 False prod '/prod' {invoke_url}",
        f"event function-url False None '' https://{FUNCTION_URL}/items?q=1",
    ]


MARKED_TESTS = """
import pytest


def log(line):
    with open("runs.txt", "a") as runs:
        runs.write(line + "\\n")


@pytest.mark.alb_sources("apigw-rest", "function-url")
def test_two_doors(alb_source, alb_multi_value_headers):
    log(f"two {alb_source} {alb_multi_value_headers}")


@pytest.mark.alb_sources()
def test_every_door(alb_source):
    log(f"every {alb_source}")


@pytest.mark.alb_sources("alb", "apigw-http-v1")
@pytest.mark.alb_header_modes
def test_modes_behind_alb_only(alb_source, alb_multi_value_headers):
    log(f"modes {alb_source} {alb_multi_value_headers}")


@pytest.mark.parametrize("alb_source", ["vpc-lattice-v1"])
def test_own_source(alb_source, alb_multi_value_headers, alb_stage):
    log(f"own {alb_source} {alb_multi_value_headers} {alb_stage}")


def test_unmarked(alb_source, alb_multi_value_headers):
    log(f"unmarked {alb_source} {alb_multi_value_headers}")
"""


def test_markers_choose_the_front_doors_of_one_test(project: pytest.Pytester) -> None:
    project.makepyfile(test_marked=MARKED_TESTS)

    result = project.runpytest(
        *UNRELATED_PLUGINS, "-v", "--strict-markers", "-o", "alb_multi_value_headers=true"
    )

    result.stdout.fnmatch_lines(
        [
            "test_marked.py::test_two_doors[[]apigw-rest[]] PASSED*",
            "test_marked.py::test_two_doors[[]function-url[]] PASSED*",
            *(f"test_marked.py::test_every_door[[]{source}[]] PASSED*" for source in ALL_SOURCES),
            "test_marked.py::test_modes_behind_alb_only[[]alb-single-value[]] PASSED*",
            "test_marked.py::test_modes_behind_alb_only[[]alb-multi-value[]] PASSED*",
            "test_marked.py::test_modes_behind_alb_only[[]apigw-http-v1[]] PASSED*",
            "test_marked.py::test_own_source[[]vpc-lattice-v1[]] PASSED*",
            "test_marked.py::test_unmarked PASSED*",
        ],
        consecutive=True,
    )
    assert runs_of(project) == [
        "two apigw-rest False",
        "two function-url False",
        *(f"every {source}" for source in ALL_SOURCES),
        "modes alb False",
        "modes alb True",
        "modes apigw-http-v1 False",
        "own vpc-lattice-v1 False None",
        "unmarked alb True",  # the configured mode, behind the configured (default) front door
    ]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "alb_source=alb cloudfront",
            "ERROR: alb_source = 'alb cloudfront' in the pytest configuration: no front door "
            "called 'cloudfront'; expected all, or names among alb, apigw-rest, apigw-http-v1, "
            "apigw-http-v2, function-url, vpc-lattice-v2, vpc-lattice-v1",
        ),
        (
            "alb_stage=prod/v1",
            "ERROR: alb_stage = 'prod/v1' in the pytest configuration: expected a stage name as "
            "it appears in the API's execute-api URL (prod for .../prod/items), or nothing for a "
            "custom domain or an HTTP API's $default stage",
        ),
    ],
)
def test_an_unknown_front_door_or_stage_stops_the_run(
    project: pytest.Pytester, option: str, message: str
) -> None:
    result = project.runpytest(*UNRELATED_PLUGINS, "-o", option)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_sources_marker_with_an_unknown_name_is_refused(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.alb_sources("apigw", True)
        def test_x(alb_source):
            pass
        """
    )
    result = project.runpytest(*UNRELATED_PLUGINS)

    result.stdout.fnmatch_lines(
        [
            "E   pytest.UsageError: @pytest.mark.alb_sources takes front door names as positional "
            "arguments (or none, for all), got ('apigw', True) {}",
        ]
    )
    result.assert_outcomes(errors=1)


# --- errors for a missing or broken handler ----------------------------------------------------

HANDLER_TEST = """
def test_uses_the_handler(alb_client):
    alb_client.get("/")
"""


def test_no_handler_named_anywhere(pytester: pytest.Pytester) -> None:
    pytester.makeini(NO_SETTINGS)
    pytester.makepyfile(test_shop=HANDLER_TEST)
    result = pytester.runpytest(*UNRELATED_PLUGINS)
    result.assert_outcomes(errors=1)
    assert (
        "no Lambda handler to test: name it in the pytest configuration "
        '(alb_handler = "lambda_function:handler" under [tool.pytest.ini_options] in '
        "pyproject.toml, or in pytest.ini), or define an alb_handler fixture in conftest.py that "
        "returns it"
    ) in result.outlines


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "missing_module:handler",
            "cannot load the Lambda handler named by the pytest setting alb_handler: "
            "missing_module:handler: no module named 'missing_module' (pytest's pythonpath "
            "setting adds folders to sys.path)",
        ),
        (
            "lambda_function:nothing",
            "cannot load the Lambda handler named by the pytest setting alb_handler: "
            "lambda_function:nothing: 'lambda_function' has no attribute 'nothing'",
        ),
        (
            "lambda_function",
            "cannot load the Lambda handler named by the pytest setting alb_handler: "
            "lambda_function: expected 'module:attr', 'path/to/file.py:attr' or Lambda's "
            "'file.function'",
        ),
    ],
)
def test_a_handler_that_cannot_be_loaded(
    project: pytest.Pytester, setting: str, message: str
) -> None:
    project.makepyfile(test_shop=HANDLER_TEST)
    result = project.runpytest(*UNRELATED_PLUGINS, "-o", f"alb_handler={setting}")
    result.assert_outcomes(errors=1)
    assert message in result.outlines
    assert "Traceback (most recent call last):" not in result.outlines


def test_a_module_that_fails_while_importing_shows_its_own_traceback(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(broken_function="settings = {}\nTIMEOUT = settings['timeout']\n")
    project.makepyfile(test_shop=HANDLER_TEST)
    result = project.runpytest(*UNRELATED_PLUGINS, "-o", "alb_handler=broken_function:handler")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "cannot load the Lambda handler named by the pytest setting alb_handler: "
            "broken_function:handler: importing 'broken_function' failed: KeyError: 'timeout'",
            "",
            "Traceback (most recent call last):",
            '  File "*broken_function.py", line 2, in <module>',
            "    TIMEOUT = settings['timeout']",
            "*",
            "KeyError: 'timeout'",
        ]
    )
    assert not [line for line in result.outlines if "importlib" in line or "loader.py" in line]


def test_without_httpx_the_client_fixtures_say_what_to_install(
    project: pytest.Pytester,
) -> None:
    """A subprocess, where httpx can really be missing (this session has imported it)."""
    project.makeconftest(
        """
        import sys

        sys.modules["httpx"] = None  # what an environment without alb-adapter[local] has
        """
    )
    project.makepyfile(
        test_shop="""
        def test_sync(alb_client):
            pass


        def test_async(alb_async_client):
            pass


        def test_events_need_no_httpx(alb_event, alb_handler, lambda_context):
            assert alb_handler(alb_event("GET", "/"), lambda_context)["statusCode"] == 200
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=2)
    for fixture in ("alb_client", "alb_async_client"):
        assert (
            f"the {fixture} fixture is an httpx client, and httpx is not installed: "
            "pip install 'alb-adapter[local]'"
        ) in result.outlines


# --- async tests ---------------------------------------------------------------------------------

ASYNC_CONFTEST = """
import pytest

from alb_adapter import ASGIHandler, WSGIHandler
from lambda_function import asgi_app, wsgi_app


@pytest.fixture(scope="session", params=["wsgi", "asgi"])
def alb_handler(request):
    # Built here, outside any event loop, as Lambda builds it at import.
    build = WSGIHandler if request.param == "wsgi" else ASGIHandler
    app = wsgi_app if request.param == "wsgi" else asgi_app
    with build(app) as handler:
        yield handler


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

ASYNC_TESTS = """
import pytest

from expected import assert_whole_response

CLIENTS = []


@pytest.mark.asyncio
async def test_under_pytest_asyncio(alb_async_client, alb_multi_value_headers):
    CLIENTS.append(alb_async_client)
    response = await alb_async_client.get("/caf%C3%A9?q=a+b")
    assert_whole_response(response, multi_value_headers=alb_multi_value_headers)


@pytest.mark.anyio
async def test_under_anyio(alb_async_client, alb_multi_value_headers):
    CLIENTS.append(alb_async_client)
    response = await alb_async_client.get("/caf%C3%A9?q=a+b")
    assert_whole_response(response, multi_value_headers=alb_multi_value_headers)


@pytest.mark.asyncio
async def test_in_an_async_with_block(alb_async_client, alb_multi_value_headers):
    async with alb_async_client as client:
        response = await client.get("/caf%C3%A9?q=a+b")
    assert_whole_response(response, multi_value_headers=alb_multi_value_headers)


def test_zz_every_client_was_closed_after_its_test(alb_handler):
    clients = CLIENTS[:]  # this handler's: pytest runs one handler's tests, then the other's
    CLIENTS.clear()
    assert len(clients) == 4 and all(client.is_closed for client in clients)
    assert not alb_handler.closed  # the clients leave the handler to whoever built it
"""


def test_async_tests_under_pytest_asyncio_and_anyio(project: pytest.Pytester) -> None:
    project.makeconftest(ASYNC_CONFTEST)
    project.makepyfile(test_async=ASYNC_TESTS)
    result = project.runpytest(*UNRELATED_PLUGINS, "-v", "-o", "alb_multi_value_headers=both")
    # pytest runs one handler's tests, then the other's (a session-scoped parameter).
    result.stdout.fnmatch_lines(
        [
            f"test_async.py::{test}[[]{kind}{mode}[]] PASSED*"
            for kind in ("wsgi", "asgi")
            for test, modes in [
                ("test_under_pytest_asyncio", ("-single-value", "-multi-value")),
                ("test_under_anyio", ("-single-value", "-multi-value")),
                ("test_in_an_async_with_block", ("-single-value", "-multi-value")),
                ("test_zz_every_client_was_closed_after_its_test", ("",)),
            ]
            for mode in modes
        ],
        consecutive=True,
    )


def test_the_sync_client_in_an_async_test_names_the_async_one(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_async="""
        import pytest


        @pytest.mark.asyncio
        async def test_mixed_up(alb_client):
            alb_client.get("/")
        """
    )
    result = project.runpytest(*UNRELATED_PLUGINS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*RuntimeError: ALBClient calls the Lambda handler in this thread, where an event "
            "loop is running (an async test); use AsyncALBClient there (`async with "
            "AsyncALBClient(handler) as client: await client.get(...)`), which calls the handler "
            "in a worker thread as Lambda would"
        ]
    )
