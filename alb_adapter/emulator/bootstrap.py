"""The local ALB's own Lambda runtime: what runs in an execution environment when ``awslambdaric``
is not installed (``python -m alb_adapter.emulator.bootstrap``, standard library only).

It does what Lambda's Python runtime does, through the same Runtime API (``runtime_api.py``):
import the function once (init; a failure is posted to ``/runtime/init/error`` and the process
exits), then, one invocation at a time, wait in ``/runtime/invocation/next``, call the handler with
the event and a context built from the ``Lambda-Runtime-*`` headers, and post the result (or the
error) back. It reads the same environment as ``awslambdaric``: ``AWS_LAMBDA_RUNTIME_API``,
``_HANDLER`` and the ``AWS_LAMBDA_*`` variables, and logs as it does: ``[LEVEL]``, the time in UTC,
the request id and the message on stdout, errors as ``[ERROR] Type: message`` and a traceback.

``_HANDLER`` is any handler the local ALB accepts (``module:attr``, ``path/to/file.py:attr``,
Lambda's ``file.function`` or a bare WSGI/ASGI app, wrapped), loaded by ``loader.py`` exactly as the
in-process mode loads it; ``ALB_ADAPTER_HANDLER_OPTIONS`` (JSON) holds the options for wrapping an
app (``base_path``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

from .loader import load_target

HANDLER_OPTIONS_ENV = "ALB_ADAPTER_HANDLER_OPTIONS"
API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"

_current_request_id = ""  # for the log lines, as awslambdaric's LambdaLoggerFilter adds it


def load_function() -> Any:
    """The handler ``_HANDLER`` names, loaded as the local ALB loads targets in-process, from
    ``LAMBDA_TASK_ROOT`` (the rules file's directory, or the emulator's current directory)."""
    spec = os.environ.get("_HANDLER")
    if not spec:
        raise RuntimeError("_HANDLER is not set: the local ALB names the function there")
    options = json.loads(os.environ.get(HANDLER_OPTIONS_ENV) or "{}")
    return load_target(spec, task_root=os.environ.get("LAMBDA_TASK_ROOT"), **options)


class RuntimeContext:
    """The context object, with the attributes and method of Lambda's Python runtime: the
    function's settings from the environment, the invocation's from the ``next`` headers."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"RuntimeContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )


class RuntimeAPI:
    """A client of the Runtime API at ``address`` (``host:port``), on one kept-alive connection
    without a timeout: ``next`` waits as long as no request comes."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.connection = http.client.HTTPConnection(address)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPResponse, bytes]:
        self.connection.request(method, API_PREFIX + path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, response, response.read()

    def next(self) -> tuple[str, int, str, str | None, bytes]:
        """The next invocation: request id, deadline (epoch ms), function ARN, trace id, event."""
        status, response, body = self.request("GET", "/invocation/next")
        if status != 200:
            raise ConnectionError(f"GET next answered {status}: {body[:200]!r}")
        return (
            response.headers["Lambda-Runtime-Aws-Request-Id"],
            int(response.headers["Lambda-Runtime-Deadline-Ms"]),
            response.headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            response.headers.get("Lambda-Runtime-Trace-Id"),
            body,
        )

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        status, _, answer = self.request("POST", path, body, headers)
        if status != 202:
            # As Lambda's runtimes do: a refused report is the Runtime API's word that this
            # environment is done (its invocation ended otherwise).
            raise ConnectionError(f"POST {path} answered {status}: {answer[:200]!r}")


def error_payload(exc: BaseException, request_id: str = "") -> dict[str, object]:
    """The error report Lambda's Python runtime posts: type, message, request id and the
    traceback of the function's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [frame for frame in frames if frame.filename != __file__]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(own),
    }


def _log_error(error: dict[str, object]) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    stack = error.get("stackTrace")
    if isinstance(stack, list) and stack:
        lines.append("Traceback (most recent call last):")
        lines += [line.rstrip("\n") for line in stack]
    print("\n".join(lines), flush=True)


def _setup_logging() -> None:
    """The root logger writes to stdout in Lambda's text format; its level stays WARNING unless
    ``AWS_LAMBDA_LOG_LEVEL`` says otherwise, as in Lambda's Python runtime."""

    class RequestIdFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.aws_request_id = _current_request_id
            return True

    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)


def _invoke(
    function: Any, request_id: str, deadline_ms: int, arn: str, event_json: bytes
) -> tuple[str, bytes, dict[str, str]]:
    """Run one invocation: the path to post to, the body and its headers."""
    context = RuntimeContext(request_id, deadline_ms, arn)
    try:
        try:
            event = json.loads(event_json)
        except ValueError as exc:
            raise _RuntimeFault(
                "Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}"
            ) from exc
        result = function(event, context)
        if isinstance(result, bytes):
            payload = result
        else:
            try:
                payload = json.dumps(result).encode()
            except (TypeError, ValueError) as exc:
                raise _RuntimeFault(
                    "Runtime.MarshalError", f"Unable to marshal response: {exc}"
                ) from exc
    except Exception as exc:  # noqa: BLE001 (every failure of the function is reported, as Lambda does)
        error = error_payload(exc, request_id)
        if isinstance(exc, _RuntimeFault):
            error.update(errorType=exc.error_type, stackTrace=[])
        _log_error(error)
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: str(error["errorType"])}
        return f"/invocation/{request_id}/error", json.dumps(error).encode(), headers
    return f"/invocation/{request_id}/response", payload, {"Content-Type": "application/json"}


class _RuntimeFault(Exception):
    """A failure of the runtime's own steps (reading the event, writing the result)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def main() -> int:
    global _current_request_id  # noqa: PLW0603 (the one piece of state the log filter reads)

    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        print(
            "AWS_LAMBDA_RUNTIME_API is not set: this runtime runs under the local ALB",
            file=sys.stderr,
        )
        return 2
    api = RuntimeAPI(address)
    _setup_logging()
    try:
        function = load_function()
    except Exception as exc:  # noqa: BLE001 (Lambda reports any init failure the same way)
        error = error_payload(exc)
        _log_error(error)
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: str(error["errorType"])}
        # If the emulator is gone too, the exit status says it all.
        with contextlib.suppress(OSError, http.client.HTTPException):
            api.post("/init/error", json.dumps(error).encode(), headers)
        return 1
    try:
        while True:
            request_id, deadline_ms, arn, trace_id, event_json = api.next()
            _current_request_id = request_id
            if trace_id:
                os.environ["_X_AMZN_TRACE_ID"] = trace_id
            else:
                os.environ.pop("_X_AMZN_TRACE_ID", None)
            path, body, headers = _invoke(function, request_id, deadline_ms, arn, event_json)
            api.post(path, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        # The Runtime API went away (the emulator stopped) or refused a report: this
        # environment is over, as a Lambda runtime's is when its API fails.
        print(f"the Runtime API at {address} is gone ({exc}); exiting", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
