"""ALBFlaskClient: Flask's own test client, with every request sent through ALB (or another front
door) to a Lambda handler.

    from alb_adapter.testing.flask import use_alb
    use_alb(app, multi_value_headers=True, base_path="/shop")   # the one setting, e.g. in conftest
    client = app.test_client()                                  # the suite is otherwise unchanged
    assert client.get("/shop/account/profile").get_json()["user"] == "ada"

    use_alb(app, source="apigw-rest", stage="prod")   # behind a REST API, on its execute-api URL
    assert app.test_client().get("/prod/account/profile").status_code == 401

``use_alb(app, ...)`` sets ``app.test_client_class`` to an ``ALBFlaskClient`` with those defaults;
``app.test_client(...)`` takes the same options per client (``app.test_client_class =
ALBFlaskClient`` alone gives ALB's defaults: single-value headers, no base path). Each request the
client sends becomes the event ALB would build, goes through ``WSGIHandler(app, **options)`` as
Lambda calls it, and comes back as ALB would answer it (``ALBWSGIApp`` and ``through`` in
``alb_adapter/emulator/services.py``): a 502 wherever a real load balancer would answer 502, with
the reason in the ``x-alb-emulator-error`` header. Responses, ``get_json()``, the cookie jar,
``session_transaction()``, ``follow_redirects=True`` and ``with client:`` work as with
``FlaskClient``; the headers the test sees are those ALB sends (lowercase names, its own
Content-Length).

``source=`` puts another front door in ALB's place (``"apigw-rest"``, ``"apigw-http-v1"``,
``"apigw-http-v2"``, ``"function-url"``, ``"vpc-lattice-v2"``, ``"vpc-lattice-v1"``): its event,
its reading of the answer and its own error answer replace ALB's, so the same suite shows what
the app does behind that service. ``stage=`` (API Gateway only) sends the requests to the API's
default execute-api URL, whose paths start with the stage (``client.get("/prod/items")``; the app
sees ``/prod`` as ``SCRIPT_NAME``); without it they go to the host the client names (Flask's
``localhost``, or ``base_url=``), a custom domain whose API mapping picks the stage. A setting the
front door does not have (multi-value headers anywhere but ALB, a stage anywhere but API Gateway)
is refused when the client class or the client is set up.

What the Lambda event cannot carry, and what the client does about it:

* **Context preservation.** After a request inside ``with client:``, ``FlaskClient`` keeps the
  request's contexts so the test can read ``flask.request`` and ``flask.session``. Flask keeps them
  through a callback the client puts in the WSGI environ, and the handler builds its own environ
  from the event, where no callback can travel. So the client builds the handler around a thin
  WSGI wrapper of the app (``_TestRequestBridge``) that hands the app that callback, for this
  client's requests only. ``flask.request.environ`` is then the environ the handler built, with
  ``aws.event`` in it. With a ready-made ``handler=`` the client cannot reach the app inside, so
  ``with client:`` keeps no context there (it still closes cleanly); pass the handler's options
  instead of the handler when a test needs it.
* **The app's exceptions.** ``FlaskClient`` lets an exception from a view reach the test when
  Flask propagates it (``PROPAGATE_EXCEPTIONS``, or ``TESTING``/``debug`` when that is unset), and
  so does this client: the wrapper notes the exception the app let out, the handler does what it
  does in production (logs it on the ``alb_adapter`` logger and answers 500), and the client then
  raises the same exception in the test instead of returning that 500. An exception Flask handles
  itself (its 500 page) is just a response, here as there. What only the adapter or ALB rejects (a
  header value that is not a string, a response over 1 MB, several Set-Cookie in single-value mode
  with ``multi_cookie="error"``) is never raised: the test gets the response production gets (500,
  or 502 with the reason). ``raise_handler_errors`` (default True) lets an exception escaping the
  handler itself (a ready-made handler built with ``raise_app_exceptions=True``, say) reach the
  test; False turns it into ALB's 502 (``LambdaUnhandled``), as in production.
* **Environ keys that are not headers** (``environ_base``/``environ_overrides`` entries such as
  ``REMOTE_USER``) do not reach the app, since ALB sends only headers; ``REMOTE_ADDR`` becomes the
  address ALB appends to X-Forwarded-For (``127.0.0.1`` by default, as ``FlaskClient`` says).

Needs Flask; nothing else in ``alb_adapter`` imports this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from flask import Flask
from flask.testing import FlaskClient

from ..config import Config
from ..errors import AdapterError
from ..wsgi import WSGIHandler
from .options import ClientOptions
from .wsgi_app import ALBWSGIApp

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from typing_extensions import Unpack
    from werkzeug.datastructures import Headers
    from werkzeug.wrappers import Response

    from ..emulator.invocation import Handler
    from ..emulator.services import Service
    from .options import FrontDoorOptions

    class ALBFlaskClientOptions(FrontDoorOptions, total=False):
        """What ``app.test_client()`` and ``use_alb()`` accept besides Flask's own arguments:
        the client's options, and the handler's (``alb_adapter/config.py``); only Flask's client
        lets the test choose whether the handler's exceptions reach it."""

        raise_handler_errors: bool


__all__ = ["ALBFlaskClient", "use_alb"]

# The environ key through which Flask hands a test client the contexts to keep (Flask.wsgi_app
# calls it; FlaskClient puts it in the environ it builds inside ``with client:``).
PRESERVE_CONTEXT = "werkzeug.debug.preserve_context"

OPTIONS = ClientOptions(
    names=(
        "multi_value_headers",
        "handler",
        "client_ip",
        "timeout",
        "raise_handler_errors",
        "source",
        "stage",
    ),
    handler_example="WSGIHandler(app)",
)


class _TestRequestBridge:
    """The Flask app as the client's handler calls it: a WSGI wrapper that gives the app what
    the test client's environ had and the Lambda event cannot carry (the context-preservation
    callback), and notes the exception the app lets out, so the client can raise it in the test.

    The client sets ``preserve_context`` just before a request and reads ``escaped`` after it;
    requests that do not come from the client (none do: the handler is the client's own) get
    nothing added.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.preserve_context: object = None
        self.escaped: Exception | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.preserve_context is not None:
            environ[PRESERVE_CONTEXT] = self.preserve_context
        try:
            body = self.app(environ, start_response)
        except AdapterError:
            raise  # the handler's verdict on the app's WSGI conduct: answered 500, as in production
        except Exception as exc:
            self.escaped = exc
            raise
        return self._noting_errors(body)

    def _noting_errors(self, body: Iterable[bytes]) -> Iterator[bytes]:
        """The app's body, with an exception raised while producing it noted too (a streamed
        view that fails halfway: FlaskClient lets the test see that one as well)."""
        try:
            yield from body
        except AdapterError:
            raise
        except Exception as exc:
            self.escaped = exc
            raise
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def __repr__(self) -> str:
        return f"{self.app!r} (as the test client's handler calls it)"


class ALBFlaskClient(FlaskClient):
    """``FlaskClient`` whose requests go through ALB to a Lambda handler (see the module doc).

    Set it as ``app.test_client_class`` (``use_alb(app, ...)`` does, with defaults), then
    ``app.test_client(**options)``. Options:

    ``multi_value_headers``
        The target group's ``lambda.multi_value_headers.enabled`` (default False).
    ``base_path``, ``multi_cookie``, ``health_check_path``, ... and every other handler option
        (``alb_adapter/config.py``): the client builds ``WSGIHandler(app, **those)``.
    ``handler``
        A ready-made Lambda handler instead (your ``lambda_function.handler``); handler options
        cannot be given with it, and ``with client:`` keeps no context through it.
    ``client_ip``
        The client's address (what ALB appends to X-Forwarded-For, the other front doors'
        source IP); by default the request's ``REMOTE_ADDR`` (``127.0.0.1`` in ``FlaskClient``'s
        ``environ_base``).
    ``timeout``
        The function's timeout in seconds (default 30).
    ``raise_handler_errors``
        Default True: an exception escaping the handler reaches the test; False: ALB's 502 (or
        the front door's own error answer).
    ``source``
        The front door in front of the function (default ``"alb"``; the names are those of
        ``alb_adapter/emulator/services.py``).
    ``stage``
        API Gateway only: send the requests to the API's execute-api URL under this stage, the
        paths starting with it; default None, the host the client names (a custom domain).
    """

    default_options: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        application: Flask,
        response_wrapper: type[Response] | None = None,
        use_cookies: bool = True,
        allow_subdomain_redirects: bool = False,
        **options: Unpack[ALBFlaskClientOptions],
    ) -> None:
        super().__init__(application, response_wrapper, use_cookies, allow_subdomain_redirects)
        chosen: dict[str, Any] = {**self.default_options, **options}
        client_options, handler_options = OPTIONS.split(chosen, type(self).__name__)
        handler = client_options.get("handler")
        if handler is None:
            self._bridge: _TestRequestBridge | None = _TestRequestBridge(application)
            handler = WSGIHandler(self._bridge, **handler_options)
        else:
            self._bridge = None
        self.handler: Handler = handler
        """The Lambda handler every request goes to."""
        self.alb_app = ALBWSGIApp(
            handler,
            multi_value_headers=client_options.get("multi_value_headers", False),
            client_ip=client_options.get("client_ip"),
            timeout=client_options.get("timeout", 30.0),
            raise_handler_errors=client_options.get("raise_handler_errors", True),
            source=client_options.get("source", "alb"),
            stage=client_options.get("stage"),
        )
        """The handler seen as a WSGI app, with the front door in between (what requests are
        sent to)."""

    @property
    def multi_value_headers(self) -> bool:
        """The target group's header mode this client sends requests in."""
        return self.alb_app.multi_value_headers

    @property
    def source(self) -> str:
        """The front door this client's requests go through (``"alb"``, ``"apigw-rest"``...)."""
        return self.alb_app.service.name

    @property
    def stage(self) -> str | None:
        """The API Gateway stage whose execute-api URL requests go to; None: a custom domain
        (and every front door but API Gateway)."""
        return self.alb_app.stage

    @classmethod
    def with_defaults(cls, **options: Unpack[ALBFlaskClientOptions]) -> type[ALBFlaskClient]:
        """A subclass whose clients use these options unless ``app.test_client(...)`` gives
        others; checked now, so a misspelt option fails where it is set, not in the first test."""
        chosen = {**cls.default_options, **options}
        _, handler_options = OPTIONS.split(chosen, "use_alb()")
        Config(**handler_options)  # raises at once, naming the option
        name = cls.__name__
        return type(name, (cls,), {"default_options": chosen, "__qualname__": name})

    def run_wsgi_app(
        self, environ: WSGIEnvironment, buffered: bool = False
    ) -> tuple[Iterable[bytes], str, Headers]:
        """Send the request through ALB instead of calling the app directly.

        werkzeug's ``Client.run_wsgi_app`` is the one place that calls ``self.application``,
        between putting the cookie jar's cookies into the environ and storing the response's
        Set-Cookie. To keep that jar handling werkzeug's own (its helpers are private), the
        client points ``application`` at the ALB view for the duration of the call and back at
        the Flask app after; everything else that reads ``application`` (the environ builder,
        ``session_transaction``, ``get_json``) runs outside the call and sees the Flask app.
        """
        flask_app = self.application
        bridge = self._bridge
        if bridge is not None:
            bridge.preserve_context = environ.get(PRESERVE_CONTEXT)
            bridge.escaped = None
        self.application = self.alb_app  # type: ignore[assignment]  # see the docstring
        try:
            response = super().run_wsgi_app(environ, buffered)
        finally:
            self.application = flask_app
            escaped = None
            if bridge is not None:
                escaped, bridge.escaped, bridge.preserve_context = bridge.escaped, None, None
        if escaped is not None:
            # The app raised and Flask let it out: FlaskClient would have raised it here.
            raise escaped
        return response

    def __enter__(self) -> ALBFlaskClient:
        super().__enter__()
        return self

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.application!r} through "
            f"{_front_door(self.alb_app.service, self.multi_value_headers, self.stage)}>"
        )


def use_alb(app: Flask, **options: Unpack[ALBFlaskClientOptions]) -> type[ALBFlaskClient]:
    """Make ``app.test_client()`` send every request through ALB (or the front door ``source``
    names) to a Lambda handler: the one setting a test suite needs (in a fixture or conftest).
    Returns the client class it set as ``app.test_client_class``; ``app.test_client_class =
    None`` gives Flask's own client back.

        use_alb(app, multi_value_headers=True, base_path="/shop")
        client = app.test_client()          # options given here override these defaults
        use_alb(app, source="apigw-http-v2", stage="prod")   # paths then start with /prod
    """
    if not isinstance(app, Flask):
        raise TypeError(
            f"use_alb() needs a Flask app, got {type(app).__name__}; for another WSGI app use "
            "werkzeug's Client(ALBWSGIApp(WSGIHandler(app))) from alb_adapter.testing"
        )
    client_class = ALBFlaskClient.with_defaults(**options)
    app.test_client_class = client_class
    return client_class


def _front_door(service: Service, multi_value_headers: bool, stage: str | None) -> str:
    """How a repr names the way requests go: ``ALB, single-value headers``, ``API Gateway REST
    API, stage 'prod'``..."""
    if service.name == "alb":
        return f"ALB, {'multi-value' if multi_value_headers else 'single-value'} headers"
    return service.label if stage is None else f"{service.label}, stage {stage!r}"
