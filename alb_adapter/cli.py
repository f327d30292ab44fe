"""The ``alb-adapter`` command: serve a handler behind the local ALB, invoke it once, print events
(ALB's, or with ``--source`` those of API Gateway, Function URLs and VPC Lattice).

Only the console script and ``python -m alb_adapter`` import this module (never ``alb_adapter``
itself, whose import is paid in every cold start); each command imports what it needs when it runs,
so ``alb-adapter event`` works without the ``local`` extra.

Exit codes: 0 success; 1 an error, reported as one line on stderr starting ``alb-adapter: ``: a
usage mistake, or input the command cannot use (a target that does not load, an event file that is
not JSON, an event no front door sends: not an HTTP request, or a malformed one); 2 (``invoke``
only) the front door would answer its own error (ALB's 502, API Gateway's 502 or 500...) instead of
the function's response; 141 (128 + SIGPIPE, what a shell reports for a tool a pipe's reader left,
as in ``yes | head``) the reader of stdout went away early, quietly. A bad event is a 1, not a 2: 2
says the function's answer fails the client, which a script checking a function must be able to
tell from a mistake in what it was given.

The help texts name no repository file (docs/, examples/): a pip user has only the package and
the README (the project page), so they point to README sections by name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Sequence

    import uvicorn

    from .emulator.app import ALBEmulator
    from .emulator.invocation import Outcome
    from .emulator.rules import ListenerConfig
    from .emulator.server import ServeOptions
    from .emulator.services import Service
    from .sources import Source

PROG = "alb-adapter"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_FRONT_DOOR_ERROR = 2  # invoke: the front door answers its own error, not the function's
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE's number on every Unix; a shell reports this code
README_SECTION = 'the README\'s "The local ALB and the CLI" section'
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Characters a client sends as they are in a request target; anything else is percent-encoded.
_WIRE_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


# The front doors that answer HTTPS only (docs/sources/apigateway_v1.md, apigateway_v2.md):
# `event --scheme http` is refused for them rather than printing an event they never send.
_HTTPS_ONLY = frozenset({"apigw-rest", "apigw-http-v1", "apigw-http-v2", "function-url"})
# A stage name as API Gateway allows it; an HTTP API also has the unnamed '$default'.
_STAGE_CHARS = frozenset("-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class CLIError(Exception):
    """A user-facing failure: printed as one ``alb-adapter: ...`` line, exit code 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 1, like every other error (exit
    code 2 is kept for `invoke`'s "the front door would answer its own error")."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- the parser

TARGET_HELP = (
    "the Lambda handler: 'module:attr', 'path/to/file.py:attr' or Lambda's own 'file.function'; "
    "a bare WSGI or ASGI app is wrapped in its handler for you"
)

MAIN_EPILOG = f"""\
examples:
  alb-adapter serve path/to/app.py:handler
  alb-adapter serve --config rules.toml --port 8080
  alb-adapter serve --template template.yaml --target-url Legacy=http://127.0.0.1:9000
  alb-adapter check-template template.yaml
  alb-adapter invoke app:handler --event event.json
  alb-adapter event POST /login -d 'user=ada'
  alb-adapter event --source apigw-http-v2 GET /items

exit codes: 0 success; 1 error, one line on stderr (a usage mistake, or input the command cannot
use: a target that does not load, an event that is not JSON or that no front door sends);
2 `invoke`: the front door would answer its own error (ALB's 502...) instead of the function's
response; 141 stdout's reader went away (e.g. `| head`).
More: {README_SECTION} (also on the project page).
"""

SERVE_EPILOG = f"""\
examples:
  alb-adapter serve path/to/app.py:handler
  alb-adapter serve app:handler --multi-value-headers --port 8080
  alb-adapter serve app.handler                    # Lambda's handler setting
  alb-adapter serve app:app --base-path /shop      # a bare app, mounted at /shop
  alb-adapter serve --config rules.toml --reload
  alb-adapter serve --template template.yaml --parameter Stage=dev \\
      --target-url Legacy=http://127.0.0.1:9000  # a CloudFormation/SAM template's listener

With --config or --template, the file names the targets (their header mode and timeout too), so
TARGET, --multi-value-headers and --timeout are refused beside it. Targets are imported before the
server starts: a broken one stops it at once with one line.

rules.toml follows the ELBv2 listener rules, names in snake_case:
  [targets.account]                  # a Lambda handler, or: url = "http://127.0.0.1:9000"
  handler = "app:handler"
  multi_value_headers = true         # also: timeout = 30, [targets.account.health_check]
  [[rules]]
  priority = 10
  conditions = [{{ field = "path-pattern", values = ["/account", "/account/*"] }}]
  actions = [{{ type = "forward", target_group = "account" }}]
  [default_action]
  type = "fixed-response"
  status_code = "404"
Conditions: path-pattern, host-header, http-header, http-request-method, query-string, source-ip.
Actions: forward, redirect, fixed-response. More: {README_SECTION}.
"""

INVOKE_EPILOG = """\
examples:
  alb-adapter invoke app:handler                       # GET / from ALB (single-value headers)
  alb-adapter invoke app:handler --event event.json
  alb-adapter event POST /cart -d 'sku=42' | alb-adapter invoke app:handler --event -
  alb-adapter event --source function-url /cart | alb-adapter invoke app:handler --event -

The event's shape tells which front door sent it (ALB, an API Gateway REST or HTTP API, a Function
URL, VPC Lattice); invoke prints "source: <it>", the handler's raw answer, then what that front door
makes of it: the HTTP response the client gets, or "<front door> would answer <status>: <reason>"
(ALB's 502, API Gateway's 502 or 500...). An ALB event's header mode is its own (multiValueHeaders
or headers).

exit codes: 0 the client gets the function's response; 2 the front door answers its own error;
1 an error, one line on stderr, such as an event that cannot be used: not JSON, not an HTTP
request (an SQS batch, a schedule...), or malformed for its front door, which never sends such.
"""

EVENT_EPILOG = """\
examples:
  alb-adapter event /                                       # GET /
  alb-adapter event POST /login -d 'user=ada&password=secret'
  alb-adapter event PUT /api/items/1 -H 'Content-Type: application/json' -d '{"qty": 2}'
  alb-adapter event '/search?q=a+b' --multi-value-headers -H 'Accept: text/html'
  alb-adapter event POST /upload --data-file photo.jpg -H 'Content-Type: image/jpeg'
  alb-adapter event / --host ''                             # a request without a Host header
  alb-adapter event --health-check /health                  # ALB's health check
  alb-adapter event --source apigw-http-v2 GET /items       # an HTTP API on a custom domain
  alb-adapter event --source apigw-rest --stage prod /prod/items   # the execute-api URL

METHOD is GET, or POST when a body is given (as curl does); a body without a Content-Type header
is sent as application/x-www-form-urlencoded (curl's -d). The event is the one the front door
builds (ALB unless --source says otherwise), the same as make_event(source=...): ALB lowercases
header names, adds X-Forwarded-For/-Proto/-Port and a trace id, and base64-encodes the body unless
its type is text/*, JSON, JavaScript or XML; each other front door adds and encodes as it does.
An API Gateway request goes to --host, a custom domain whose API mapping picks the stage, or with
--stage to the API's execute-api URL, whose path starts with the stage.

Options a front door lacks are refused: --multi-value-headers and --health-check are ALB's,
--stage API Gateway's; API Gateway and Function URLs serve HTTPS only (--scheme http), a VPC
Lattice event does not carry the scheme (--scheme), and a Function URL has no custom domain
(--host). A health check is a GET with only `user-agent: ELB-HealthChecker/2.0`: no Host, no
X-Forwarded-*, no trace id.
"""


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (also what `--help` shows)."""
    from . import __version__
    from .emulator.services import SERVICES

    parser = _Parser(
        prog=PROG,
        description="Run WSGI/ASGI apps as AWS Lambda functions behind an Application Load "
        "Balancer\n(or API Gateway, a Function URL, VPC Lattice): a local ALB to serve them, "
        "one-off invocations\njudged as their front door judges them, and the events each "
        "front door sends.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    serve = commands.add_parser(
        "serve",
        help="serve a handler (or a listener config) behind a local ALB",
        description="Serve Lambda handlers behind a local Application Load Balancer that builds "
        "the\nevents, refuses the requests and judges the answers as ALB does.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("target", nargs="?", metavar="TARGET", help=TARGET_HELP)
    serve.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (8000; 0: any free one)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument(
        "--multi-value-headers",
        action="store_true",
        default=None,
        help="the target group's lambda.multi_value_headers.enabled (off by default, as on AWS)",
    )
    serve.add_argument(
        "--base-path",
        metavar="P",
        help="the prefix the listener rule forwards (e.g. /shop), for a bare app wrapped here",
    )
    serve.add_argument(
        "--config", metavar="FILE", help="listener rules and targets (TOML, see below)"
    )
    serve.add_argument(
        "--template",
        metavar="FILE",
        help="the listener of a CloudFormation/SAM template (YAML or JSON; the 'templates' extra)",
    )
    serve.add_argument(
        "--parameter",
        action="append",
        default=[],
        type=_assignment("--parameter", "Name=Value"),
        metavar="NAME=VALUE",
        help="a template parameter's value (repeatable; a parameter's Default otherwise)",
    )
    serve.add_argument(
        "--target-url",
        action="append",
        default=[],
        type=_assignment("--target-url", "LogicalId=http://host:port"),
        metavar="ID=URL",
        help="the server of a template's instance/ip target group, by logical id (repeatable)",
    )
    serve.add_argument(
        "--listener",
        metavar="ID",
        help="the template's listener to run, by logical id (when it has several HTTPS ones)",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help=(
            "restart when a .py file changes under the current directory or a Lambda target's "
            "code folder"
        ),
    )
    serve.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="the function's timeout (30)",
    )
    serve.add_argument(
        "--environments",
        choices=("process", "thread"),
        default="process",
        help="how Lambda functions run: 'process' (execution environments as Lambda runs them: "
        "worker processes behind the Lambda Runtime API, init once each, killed at the "
        "timeout; the default) or 'thread' (called inside the server: faster to start)",
    )
    serve.add_argument(
        "--concurrency",
        type=_concurrency,
        default=None,
        metavar="N",
        help="most execution environments of TARGET at once (10); beyond them ALB answers 503",
    )
    serve.add_argument(
        "--runtime-client",
        choices=("auto", "awslambdaric", "builtin"),
        default="auto",
        help="the runtime client in each environment: AWS's awslambdaric when installed "
        "(alb-adapter[runtime]), else the built-in one (auto)",
    )
    serve.add_argument(
        "--inspect",
        nargs="?",
        const="",
        default="",
        type=_inspect_address,
        metavar="PORT",
        help="serve the request inspector on 127.0.0.1:PORT (on by default, on the listener's "
        "port + 1, else a free one; 0: any free port; also HOST:PORT, HOST a loopback address)",
    )
    serve.add_argument(
        "--no-inspect", action="store_true", help="no inspector: nothing recorded, no second port"
    )
    serve.add_argument(
        "--inspect-keep",
        type=_keep,
        default=200,
        metavar="N",
        help="the requests the inspector keeps, the oldest dropped first (200)",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="what to log (info)")

    invoke = commands.add_parser(
        "invoke",
        help="run one event through a handler and show what its front door answers",
        description="Run one event through a Lambda handler, print its raw answer, then what the "
        "front door\nthat sends such events (ALB, API Gateway, a Function URL, VPC Lattice) "
        "would send the client.",
        epilog=INVOKE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    invoke.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    invoke.add_argument(
        "--event",
        metavar="FILE",
        help="the event as JSON, '-' for stdin (default: GET / as ALB sends it)",
    )
    invoke.add_argument(
        "--multi-value-headers",
        action="store_true",
        help="build the default event with multi-value headers (ALB events only)",
    )
    invoke.add_argument(
        "--base-path", metavar="P", help="the prefix the listener rule forwards, for a bare app"
    )
    invoke.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="the function's timeout (30)",
    )
    invoke.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="what to log, on stderr (info)"
    )

    event = commands.add_parser(
        "event",
        help="print the event a front door (ALB, API Gateway...) sends for a request",
        description="Print the event an Application Load Balancer (or, with --source, another "
        "front door)\nsends to a Lambda function for this HTTP request.",
        usage="%(prog)s [-h] [METHOD] PATH [-H 'Name: value']... [-d BODY | --data-file FILE]\n"
        "       [--source NAME] [--stage NAME] [--multi-value-headers] [--client-ip IP]\n"
        "       [--scheme {https,http}] [--host HOST]\n"
        "       %(prog)s --health-check [PATH] [--multi-value-headers]",
        epilog=EVENT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    event.add_argument(
        "words",
        nargs="*",
        metavar="[METHOD] PATH",
        help="the request method (GET) and the raw path, which may carry the query",
    )
    event.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="a request header; repeat for more (a repeated name is kept twice)",
    )
    body = event.add_mutually_exclusive_group()
    body.add_argument("-d", "--data", metavar="BODY", help="the request body")
    body.add_argument(
        "--data-file", metavar="FILE", help="the request body from a file, '-': stdin"
    )
    event.add_argument(
        "--source",
        choices=tuple(SERVICES),
        default="alb",
        metavar="NAME",
        help=f"the front door that sends it: {', '.join(SERVICES)} (alb)",
    )
    event.add_argument(
        "--stage",
        type=_stage,
        metavar="NAME",
        help="API Gateway: the request goes to the API's execute-api URL, under this stage "
        "(the path then starts with /NAME)",
    )
    event.add_argument(
        "--multi-value-headers",
        action="store_true",
        help="ALB: the multi-value form (multiValueHeaders, multiValueQueryStringParameters)",
    )
    event.add_argument(
        "--client-ip",
        type=_ip,
        default=None,
        metavar="IP",
        help="the client, appended to X-Forwarded-For (198.51.100.7)",
    )
    event.add_argument(
        "--scheme",
        choices=("https", "http"),
        default=None,
        help="the listener's protocol: X-Forwarded-Proto and -Port (https)",
    )
    event.add_argument(
        "--host",
        default=None,
        help="the Host header (example.com; '' for none); API Gateway: the custom domain",
    )
    event.add_argument(
        "--health-check",
        action="store_true",
        help="ALB's health check of PATH (/), as the target group sends it",
    )

    check = commands.add_parser(
        "check-template",
        help="check a CloudFormation/SAM template for the ALB -> Lambda mistakes cfn-lint misses",
        description="Check CloudFormation/SAM templates for what breaks ALB -> Lambda and cfn-lint "
        "lets\nthrough: listener-rule condition fields and target-group attribute keys that do "
        "not\nexist, a health-check timeout not below its interval, a Lambda target group "
        "without\nthe permission for elasticloadbalancing.amazonaws.com or without DependsOn on "
        "it,\nand (a warning) multi-value headers off while the function sets several cookies.",
        epilog="examples:\n  alb-adapter check-template template.yaml\n"
        "  cfn-lint examples/*/template.yaml && alb-adapter check-template examples/*/template.yaml"
        "\n\nexit codes: 0 no errors (warnings are printed); 1 an error in some template, or a "
        "template\nthat cannot be read. Run cfn-lint beside it for everything else.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("templates", nargs="+", metavar="TEMPLATE", help="template files")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 0 and 65535")
    return port


def _inspect_address(text: str) -> tuple[str, int | None]:
    """``--inspect``'s value: ``PORT`` or ``HOST:PORT`` (a loopback host), or nothing (the
    default port: None)."""
    if not text:
        return "127.0.0.1", None
    host, colon, port = text.rpartition(":")
    host = host.strip("[]") if colon else "127.0.0.1"
    from .emulator.inspector.web import is_loopback_host

    if not is_loopback_host(host):
        raise argparse.ArgumentTypeError(
            f"{host} is not a loopback address: the inspector shows cookies and authorization "
            "headers, so it listens on this machine only (127.0.0.1, ::1, localhost)"
        )
    return host, _port(port)


def _keep(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100000, not {text!r}")
    return value


def _assignment(flag: str, form: str) -> Callable[[str], tuple[str, str]]:
    """An argparse type for ``NAME=VALUE`` options (``--parameter``, ``--target-url``)."""

    def split(text: str) -> tuple[str, str]:
        name, equals, value = text.partition("=")
        if not equals or not name:
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: write {form}")
        return name, value

    return split


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1000, not {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < seconds <= 900:  # Lambda's own limits
        raise argparse.ArgumentTypeError(f"{text} s: a Lambda timeout is over 0 and at most 900 s")
    return seconds


def _stage(text: str) -> str:
    if text != "$default" and not (text and set(text) <= _STAGE_CHARS):
        raise argparse.ArgumentTypeError(
            f"not a stage name: {text!r} (letters, digits, '-' and '_'; or an HTTP API's "
            "'$default')"
        )
    return text


def _ip(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the return value is the exit code (errors never show a traceback)."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        if args.command is None:
            raise CLIError(f"a command is required: serve, invoke or event (see '{PROG} --help')")
        run: dict[str, Any] = {
            "serve": _serve,
            "invoke": _invoke,
            "event": _event,
            "check-template": _check_template,
        }
        code: int = run[args.command](args)
        sys.stdout.flush()  # here, where a broken pipe is caught, not at the interpreter's exit
    except CLIError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl+C, or SIGTERM (see _stop_on_sigterm): a requested stop
        return EXIT_OK
    except BrokenPipeError:  # `alb-adapter event ... | head`: the reader has all it wanted
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _drop_stdout() -> None:
    """Point stdout at devnull, so the interpreter's final flush of what is still buffered does
    not raise BrokenPipeError again (the approach of Python's own docs, "Note on SIGPIPE")."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout: nothing to flush
        pass


# --------------------------------------------------------------------------- event


def _event(args: argparse.Namespace) -> int:
    """Print the event the front door ``--source`` names would send (ALB's by default): the same
    code as make_event(source=...), the test clients and the local ALB."""
    from .emulator.services import find_service
    from .errors import InvalidEvent
    from .sources.alb.balancer import EXAMPLE_CLIENT_IP, EXAMPLE_HOST

    service = find_service(args.source)
    _refuse_what_the_front_door_lacks(args, service)
    words: list[str] = args.words
    if args.health_check:
        return _health_check_event(args)
    if not words:
        raise CLIError(f"a PATH is required, e.g. '/' (see '{PROG} event --help')")
    if len(words) > 2:
        raise CLIError(f"expected [METHOD] PATH, got {len(words)} words: {' '.join(words)}")
    has_body = args.data is not None or args.data_file is not None
    method = "POST" if has_body else "GET"
    if len(words) == 2:
        method = words[0]
        if not method or not set(method) <= _TOKEN_CHARS:
            raise CLIError(f"not an HTTP method: {method!r}")
    path = words[-1]
    if not path.startswith("/"):
        if len(words) == 1 and path and set(path) <= _TOKEN_CHARS:
            raise CLIError(f"missing PATH after the method {path!r} (e.g. '{path} /')")
        raise CLIError(f"the path must start with '/': {path!r}")
    headers = [_header(text) for text in args.header]
    if has_body and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))  # as curl -d
    host = _host(args.host, EXAMPLE_HOST)
    if (
        service.name.startswith("apigw-")
        and host is None
        and args.stage is None
        and not any(name.lower() == "host" for name, _ in headers)
    ):
        raise CLIError(
            f"{service.label}: a request goes to a host: --host DOMAIN (a custom domain) or "
            "--stage NAME (the API's execute-api URL)"
        )
    try:
        event = service.event(
            method,
            _wire_target(path),
            headers,
            _body(args),
            multi_value_headers=args.multi_value_headers,
            host=host,
            client_ip=args.client_ip or EXAMPLE_CLIENT_IP,
            scheme=args.scheme or "https",
            stage=args.stage,
        )
    except InvalidEvent as exc:  # ALB: a text body that is not UTF-8, which it refuses
        raise CLIError(
            f"{service.label} cannot build this event: the {exc.field} {exc.problem}"
        ) from None
    except ValueError as exc:  # API Gateway: a path outside --stage, '$default' for a REST API
        raise CLIError(f"{service.label} cannot build this event: {exc}") from None
    print(json.dumps(event, indent=2, ensure_ascii=False))
    return EXIT_OK


def _refuse_what_the_front_door_lacks(args: argparse.Namespace, service: Service) -> None:
    """One line for an option the front door does not have, rather than an event it never sends
    (the same split as Service.check: the header mode and health checks are ALB's target-group
    settings, stages API Gateway's)."""
    label = service.label
    if service.name != "alb":
        if args.multi_value_headers:
            raise CLIError(
                f"--multi-value-headers is ALB's target-group setting; {label} sends one event "
                "format"
            )
        if args.health_check:
            raise CLIError(
                f"--health-check is ALB's: {label} does not health-check a Lambda function"
            )
    if args.stage is not None:
        if not service.name.startswith("apigw-"):
            raise CLIError(f"--stage is an API Gateway setting; {label} has no stages")
        if args.host is not None:
            raise CLIError(
                "give --host (a custom domain, whose API mapping picks the stage) or --stage "
                "(the API's execute-api URL, whose path starts with the stage), not both"
            )
    if service.name == "function-url" and args.host is not None:
        raise CLIError(
            f"--host: a {label} has no custom domain; its event names the URL's own domain"
        )
    if service.name in _HTTPS_ONLY and args.scheme == "http":
        raise CLIError(f"--scheme http: {label} serves HTTPS only")
    if service.name.startswith("vpc-lattice-") and args.scheme is not None:
        raise CLIError(
            f"--scheme: a {label} event does not say which protocol the client used (the "
            "handler takes https)"
        )


def _health_check_event(args: argparse.Namespace) -> int:
    """What ALB sends a Lambda target when it health-checks it (make_health_check_event)."""
    from .sources.alb.balancer import build_health_check_event

    words: list[str] = args.words
    given = [
        flag
        for flag, value in (
            ("-H", args.header),
            ("-d", args.data),
            ("--data-file", args.data_file),
            ("--client-ip", args.client_ip),
            ("--scheme", args.scheme),
            ("--host", args.host),
        )
        if value not in (None, [])
    ]
    if given:
        raise CLIError(f"--health-check takes only PATH and --multi-value-headers, not {given[0]}")
    if len(words) > 1:
        raise CLIError(f"--health-check takes one PATH (always GET), got: {' '.join(words)}")
    path = words[0] if words else "/"
    if not path.startswith("/"):
        raise CLIError(f"the path must start with '/': {path!r}")
    event = build_health_check_event(
        _wire_target(path), multi_value_headers=args.multi_value_headers
    )
    print(json.dumps(event, indent=2, ensure_ascii=False))
    return EXIT_OK


def _host(given: str | None, default: str) -> str | None:
    """--host: absent, the example host; empty, no Host header at all (as an HTTP/1.0 client)."""
    if given is None:
        return default
    if "\r" in given or "\n" in given:
        raise CLIError(f"bad --host {given!r}: it cannot hold a line break")
    return given or None


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name or not set(name) <= _TOKEN_CHARS:
        raise CLIError(f"bad header {text!r}: expected 'Name: value'")
    if "\r" in value or "\n" in value:
        raise CLIError(f"bad header {text!r}: a value cannot hold a line break")
    return name, value.strip(" \t")


def _wire_target(path: str) -> str:
    """The request target as a client puts it on the wire: no fragment, and what cannot travel
    as is (spaces, non-ASCII) percent-encoded; existing %XX escapes are kept."""
    from urllib.parse import quote

    return quote(path.partition("#")[0], safe=_WIRE_SAFE)


def _body(args: argparse.Namespace) -> bytes:
    if args.data is not None:
        return str(args.data).encode("utf-8")
    if args.data_file is None:
        return b""
    if args.data_file == "-":
        return sys.stdin.buffer.read()
    return _read_file(args.data_file)


def _read_file(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise CLIError(f"{name}: no such file") from None
    except OSError as exc:
        raise CLIError(f"{name}: cannot read it: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- invoke


def _invoke(args: argparse.Namespace) -> int:
    """One event through the handler: which front door sends it, the handler's raw answer, then
    that front door's verdict on it. The event is checked before the target is imported, so a
    wrong event is one line, whatever the app logs as it loads."""
    import logging
    import time
    import traceback

    from .emulator.invocation import LambdaContext
    from .emulator.services import find_service
    from .sources.alb.balancer import client_request_event

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if args.event is None:
        event = client_request_event("GET", "/", multi_value_headers=args.multi_value_headers)
        source_name, multi = "alb", bool(args.multi_value_headers)
    else:
        event = _read_event(args.event)
        where = _event_name(args.event)
        source = _source_of(event, where)
        source_name = source.name
        multi = _event_mode(event, where, source, flag=args.multi_value_headers)
    service = find_service(source_name)

    handler = _load_handler(args.target, _handler_options(args))
    print(f"source: {_describe_front_door(service, multi)}", flush=True)  # before the app logs
    context = LambdaContext(timeout=args.timeout)
    began = time.monotonic()
    try:
        try:
            payload = handler(event, context)
        except Exception as exc:  # noqa: BLE001 (the function's failure: the service answers it)
            traceback.print_exc()  # what Lambda writes to the function's log
            refused = service.refuse(f"LambdaUnhandled: {type(exc).__name__}: {exc}")
            print(f"{service.label} would answer {refused.status}: {refused.reason}")
            return EXIT_FRONT_DOOR_ERROR
    finally:
        close = getattr(handler, "close", None)
        if callable(close):
            close()
    print(_dump(payload))
    print()
    if time.monotonic() - began > args.timeout:
        refused = service.refuse(f"the function ran past its {args.timeout:g} s timeout")
        print(f"{service.label} would answer {refused.status}: {refused.reason}")
        return EXIT_FRONT_DOOR_ERROR
    outcome = service.judge(payload, multi_value_headers=multi)
    if outcome.reason is not None:
        print(f"{service.label} would answer {outcome.status}: {outcome.reason}")
        return EXIT_FRONT_DOOR_ERROR
    print(_http_response(outcome), end="")
    return EXIT_OK


def _event_name(name: str) -> str:
    """How error messages name the event's origin."""
    return "stdin" if name == "-" else name


def _read_event(name: str) -> dict[str, object]:
    raw = sys.stdin.buffer.read() if name == "-" else _read_file(name)
    where = _event_name(name)
    try:
        event = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for non-UTF-8 bytes
        raise CLIError(f"{where}: the event is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise CLIError(f"{where}: the event must be a JSON object, got {type(event).__name__}")
    return event


def _source_of(event: dict[str, object], where: str) -> Source:
    """The source whose events look like ``event``, once it has read the event as the handler
    will. An event no front door sends is the input's fault, not the function's: an event no
    source serves (an SQS batch, a schedule...) or one its source cannot read. A body that
    cannot be decoded is not refused: the handler answers it 400 itself, which is worth seeing."""
    from .config import Config
    from .errors import InvalidBody, InvalidEvent, UnsupportedEvent
    from .sources import find_source

    try:
        source = find_source(event)
    except UnsupportedEvent as exc:
        raise CLIError(f"{where}: {exc}") from None
    try:
        source.parse_event(event, None, Config())
    except InvalidBody:
        pass
    except InvalidEvent as exc:
        exc.source = source.label  # as the handler does: the shared field readers cannot know
        raise CLIError(f"{where}: {exc}") from None
    return source


def _event_mode(event: dict[str, object], where: str, source: Source, *, flag: bool) -> bool:
    """The header mode ALB used for this event: it sends exactly one of the two forms. The other
    front doors have a single format (payload 1.0 carries both header maps, always)."""
    if source.name != "alb":
        if flag:
            raise CLIError(
                f"{where}: --multi-value-headers is ALB's target-group setting; this event is "
                f"from {source.label}, which has one event format"
            )
        return False
    if "multiValueHeaders" in event:
        return True
    if "headers" in event and flag:
        raise CLIError(
            f"{where}: --multi-value-headers, but the event has single-value 'headers'; "
            "the event's own form decides"
        )
    return flag


def _describe_front_door(service: Service, multi_value_headers: bool) -> str:
    """The front door's name, and for ALB the target group's header mode it judges in."""
    if service.name != "alb":
        return service.label
    return f"{service.label} ({'multi' if multi_value_headers else 'single'}-value headers)"


def _dump(payload: object) -> str:
    try:
        return json.dumps(payload, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(payload)  # judge() explains why ALB cannot read it


def _http_response(outcome: Outcome) -> str:
    """The response as the client receives it; a binary body is summarised."""
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(outcome.status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {outcome.status} {phrase}".rstrip()]
    lines += [f"{name}: {value}" for name, value in outcome.headers]
    lines.append("")
    text = _as_text(outcome)
    if text is None:
        lines.append(f"<{len(outcome.body)} bytes of binary>")
    elif text:
        lines.append(text.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _as_text(outcome: Outcome) -> str | None:
    if any(name.lower() == "content-encoding" for name, _ in outcome.headers):
        return None
    try:
        text = outcome.body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(char) < 0x20 and char not in "\t\n\r\f" for char in text):
        return None
    return text


# --------------------------------------------------------------------------- check-template


def _check_template(args: argparse.Namespace) -> int:
    """One line per finding (the logical id, what is wrong, the fix) on stdout, then a summary
    per template; exit 1 when any template has an error or cannot be read."""
    from .emulator.templates import TemplateError, check_template

    failed = False
    for template in args.templates:
        try:
            findings = check_template(template)
        except TemplateError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            failed = True
            continue
        for finding in findings:
            print(finding.line(template))
        errors = sum(finding.severity == "error" for finding in findings)
        warnings = len(findings) - errors
        failed = failed or errors > 0
        summary = "OK" if not findings else f"{errors} error(s), {warnings} warning(s)"
        print(f"{template}: {summary}")
    return EXIT_ERROR if failed else EXIT_OK


# --------------------------------------------------------------------------- serve


def _handler_options(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.base_path is None else {"base_path": args.base_path}


def _load_handler(spec: str, options: dict[str, Any]) -> Any:
    from .emulator.loader import TargetLoadError, load_target

    try:
        return load_target(spec, **options)
    except TargetLoadError as exc:
        raise CLIError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 (a handler's constructor failing, e.g. a bad base_path)
        raise CLIError(f"{spec}: {type(exc).__name__}: {exc}") from None


def _serve_options(args: argparse.Namespace) -> ServeOptions:
    """The serve options as plain JSON data (what `--reload` hands to its worker process)."""
    if args.template is not None:
        _refuse_beside_template(args)
    elif args.parameter or args.target_url or args.listener is not None:
        flag = (
            "--parameter" if args.parameter else "--target-url" if args.target_url else "--listener"
        )
        raise CLIError(f"{flag} applies to --template only")
    elif args.config is not None:
        if args.target is not None:
            raise CLIError(
                f"give TARGET or --config, not both: {args.config} names its own targets"
            )
        for flag, value in (
            ("--multi-value-headers", args.multi_value_headers),
            ("--timeout", args.timeout),
            ("--concurrency", args.concurrency),
        ):
            if value is not None:
                raise CLIError(
                    f"{flag} is set per target in {args.config}, not on the command line"
                )
    elif args.target is None:
        raise CLIError(
            "give a TARGET ('module:attr', 'path/to/file.py:attr' or 'file.function'), "
            f"--config rules.toml or --template template.yaml (see '{PROG} serve --help')"
        )
    if args.no_inspect and args.inspect[1] is not None:
        raise CLIError("give --inspect PORT or --no-inspect, not both")
    return {
        "target": args.target,
        "config": args.config,
        "multi_value_headers": bool(args.multi_value_headers),
        "timeout": 30.0 if args.timeout is None else args.timeout,
        "handler_options": _handler_options(args),
        "log_level": args.log_level,
        "environments": args.environments,
        "concurrency": args.concurrency,
        "runtime_client": args.runtime_client,
        "inspect_keep": None if args.no_inspect else args.inspect_keep,
        "template": args.template,
        "parameters": dict(args.parameter),
        "target_urls": dict(args.target_url),
        "listener": args.listener,
    }


def _refuse_beside_template(args: argparse.Namespace) -> None:
    """A template names its own targets and their settings, as a rules file does."""
    for flag, value in (("TARGET", args.target), ("--config", args.config)):
        if value is not None:
            raise CLIError(
                f"give TARGET, --config or --template, not two: {args.template} names its own "
                f"targets (got {flag} too)"
            )
    for flag, value in (
        ("--multi-value-headers", args.multi_value_headers),
        ("--timeout", args.timeout),
        ("--concurrency", args.concurrency),
    ):
        if value is not None:
            raise CLIError(
                f"{flag} is set per target group or function in {args.template}, not on the "
                "command line"
            )


def _serve(args: argparse.Namespace) -> int:
    """Check everything that can fail (options, config, targets, port) before uvicorn starts, so a
    mistake is one line instead of a server that starts and then dies."""
    options = _serve_options(args)
    try:
        import uvicorn  # noqa: F401 (only checking the extra is installed)
    except ImportError:
        raise CLIError("serve needs the 'local' extra: pip install 'alb-adapter[local]'") from None
    from .emulator.app import ALBEmulator
    from .emulator.rules import ConfigError
    from .emulator.server import (
        build_server,
        configure_logging,
        listener_config,
        serve_reloading,
        watched_folders,
    )

    configure_logging(args.log_level)
    try:
        config = listener_config(options)
    except ConfigError as exc:  # its message names the file, the rule and the field
        raise CLIError(str(exc)) from None
    server = build_server(
        config,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        handler_options=options["handler_options"],
        environments=args.environments,
        runtime_client=args.runtime_client,
        inspect_keep=options.get("inspect_keep"),
    )
    emulator = server.config.app
    assert isinstance(emulator, ALBEmulator)
    # The ports first: a busy one is reported before any environment process is started.
    sock = _listen(args.host, args.port)
    sockets = [sock]
    try:
        if emulator.recorder is not None:
            sockets.append(_listen_inspector(server, args.inspect, sock.getsockname()[1]))
        # Loaded now, in the main thread; the emulator's startup then loads only what is missing.
        _load_targets(emulator)
    except BaseException:
        for bound in sockets:
            bound.close()
        raise
    if args.reload:
        emulator.unload()  # the worker process imports them afresh
    port = sock.getsockname()[1]
    _stop_on_sigterm()
    print(
        f"Local ALB on {_url(args.host, port)} {_arrow()} "
        f"{_describe(options, config, template=args.template)}",
        flush=True,
    )
    if emulator.inspector_url is not None:
        # On stderr, with the log: stdout keeps its one line, which scripts read.
        print(f"inspector: {emulator.inspector_url}", file=sys.stderr, flush=True)
    try:
        if args.reload:
            inspector_sock = sockets[1] if len(sockets) > 1 else None
            serve_reloading(
                options,
                sock,
                host=args.host,
                watch=watched_folders(config, Path.cwd()),
                inspector_sock=inspector_sock,
            )
            return EXIT_OK
        server.run(sockets=sockets)
    finally:
        for bound in sockets:
            bound.close()
    return EXIT_OK if server.started else EXIT_ERROR


def _listen_inspector(
    server: uvicorn.Server, address: tuple[str, int | None], listener_port: int
) -> socket.socket:
    """The inspector's socket: the port asked for, else the listener's port + 1, else (that
    one busy, or the listener's port the last) any free one."""
    import errno

    from .emulator.server import bind_inspector

    host, port = address
    if port is None:
        default = listener_port + 1 if listener_port < 65535 else 0
        try:
            return bind_inspector(server, host, default)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise CLIError(f"cannot listen on {host}:{default}: {exc.strerror}") from None
            return bind_inspector(server, host, 0)
    try:
        return bind_inspector(server, host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(
                f"the inspector's port {port} on {host} is already in use; try --inspect 0"
            ) from None
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _load_targets(emulator: ALBEmulator) -> None:
    from .emulator.loader import TargetLoadError

    try:
        emulator.load()
    except TargetLoadError as exc:
        raise CLIError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 (a handler's constructor failing, e.g. a bad base_path)
        raise CLIError(f"loading the targets failed: {type(exc).__name__}: {exc}") from None


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so "port in use" is one clear line; uvicorn gets it."""
    import errno

    from .emulator.server import listen

    try:
        return listen(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(
                f"port {port} on {host} is already in use (another server?); try --port {port + 1}"
            ) from None
        if exc.errno == errno.EACCES:
            raise CLIError(
                f"no permission to listen on port {port} (try a port over 1023)"
            ) from None
        reason = exc.strerror or str(exc)
        raise CLIError(f"cannot listen on {host}:{port}: {reason}") from None


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server as Ctrl+C does: uvicorn shuts down gracefully, then re-raises the
    signal, which ends here as a clean exit instead of the default kill."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _arrow() -> str:
    """→ where the terminal can show it (a Windows code page may not)."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "->"
    return "→"


def _describe(options: ServeOptions, config: ListenerConfig, *, template: str | None) -> str:
    if template is not None:
        rules = len(config.rules)
        targets = ", ".join(config.targets) or "none"
        return f"{template} ({rules} rule{'s' * (rules != 1)}; target groups: {targets})"
    if options["config"] is None:
        mode = "multi-value" if options["multi_value_headers"] else "single-value"
        return f"{options['target']} ({mode} headers)"
    rules = len(config.rules)
    targets = ", ".join(config.targets) or "none"
    return f"{options['config']} ({rules} rule{'s' * (rules != 1)}; targets: {targets})"
