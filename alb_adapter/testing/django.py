"""ALBDjangoClient and ALBDjangoASGIClient: Django's own test client, with every request sent
through ALB (or another front door) to a Lambda handler. An existing test suite changes one
setting:

    from alb_adapter.testing.django import ALBDjangoClient

    class NotesTests(TestCase):
        client_class = ALBDjangoClient      # or ALBDjangoClient.with_defaults(base_path="/shop")

        def test_a_note_is_saved(self):
            self.client.force_login(self.user)
            response = self.client.post("/notes/", {"text": "hi"}, follow=True)
            self.assertRedirects(response, "/notes/", status_code=303)
            self.assertContains(response, "Note saved.")

``ALBDjangoClient`` serves the project through ``WSGIHandler(get_wsgi_application())``,
``ALBDjangoASGIClient`` through ``ASGIHandler(get_asgi_application())``. Each request Django's
client composes goes the whole way a deployed function's requests go: ALB's front door, the event
ALB builds, the handler as Lambda calls it, and ALB's judgement of the answer (``ALBWSGIApp`` and
``through`` in ``alb_adapter/emulator/services.py``). So a test fails where production
would: a response over 1 MB is the handler's explained 502, an answer ALB rejects is its 502 (the
reason in the ``x-alb-emulator-error`` header), and in single-value mode several Set-Cookie
travel as ALB carries them (``multi_cookie``). The answer comes back as an ``HttpResponse``, so
``assertContains``, ``assertRedirects``, ``follow=True``, ``response.json()``, the cookie jar,
``force_login``, ``response.context``/``templates``, ``resolver_match`` and
``raise_request_exception`` work as with Django's ``Client``.

Options, per client (``ALBDjangoClient(multi_value_headers=True)``, e.g. in pytest-django's
``client`` fixture) or per class (``client_class = ALBDjangoClient.with_defaults(...)``, since
``TestCase`` builds its client without arguments): ``multi_value_headers`` (the target group's
header mode), every handler option of ``alb_adapter/config.py`` (``base_path``,
``health_check_path``, ``multi_cookie``...), or a ready-made ``handler`` (your
``lambda_handler.handler``) instead, ``client_ip`` and ``timeout``. Any other keyword is Django's
(an environ default such as ``HTTP_USER_AGENT``).

``source`` puts another front door in ALB's place (``"apigw-rest"``, ``"apigw-http-v1"``,
``"apigw-http-v2"``, ``"function-url"``, ``"vpc-lattice-v2"``, ``"vpc-lattice-v1"``: the names of
``alb_adapter/emulator/services.py``), with its event, its reading of the answer and its own error
answer; ``stage`` (API Gateway only) sends the requests to the API's default execute-api URL,
whose paths start with the stage (``self.client.get("/prod/notes/")``: Django sees ``/prod`` as
``SCRIPT_NAME``, so ``reverse()`` inside a view gives ``/prod/...``; in the test, which has no
request, it gives the path without it). Without a stage the requests go to the host the client
names (``testserver``, or a ``Host`` header), a custom domain whose API mapping picks the stage.
The host the front door gives Django must be in ``ALLOWED_HOSTS`` (the execute-api host,
``<api-id>.execute-api.<region>.amazonaws.com``, under a stage). Settings a front door does not
have (multi-value headers anywhere but ALB, a stage anywhere but API Gateway) are refused when
the client or ``with_defaults`` is set up.

    class NotesBehindRESTAPI(NotesTests):
        client_class = ALBDjangoClient.with_defaults(source="apigw-rest", stage="prod")

What the Lambda event cannot carry, and what the client does about it:

* **The request the view saw.** Django's client attaches its own request object to the response;
  here Django builds the request inside the handler, from the event. So a client that builds the
  handler builds it over a subclass of Django's own handler that notes each request it serves
  (``get_response``/``get_response_async``, public methods): ``response.wsgi_request`` is that
  object, with ``user``, ``session``, ``META["aws.event"]``, and ``resolver_match`` is resolved
  from the path the view saw (without the base path). Through a ready-made handler the client
  cannot reach that request: ``wsgi_request`` is the request as the client sent it.
* **CSRF.** Django's client relaxes CSRF checks unless ``enforce_csrf_checks=True``, by marking
  the request it makes; the client that builds the handler marks the requests its handler makes
  in the same way. A ready-made handler builds its requests as production does: checks enforced.
* **The test database.** Django's client keeps the test's connection open across requests, and
  so does this one (it lets ``close_old_connections`` skip the requests, as Django's client
  does). ``ALBDjangoClient`` runs the views in the test's thread, so ``TestCase`` works as it is.
  Under ASGI Django runs sync views (and the ORM) in a worker thread, on a connection of that
  thread, which cannot see the uncommitted transaction ``TestCase`` wraps each test in; so
  ``ALBDjangoASGIClient`` gives its views a worker thread of their own that uses the test's
  connections (asgiref's ``ThreadSensitiveContext(executor=...)``, asgiref 3.13 and later), and
  ``TestCase`` works too. With a ready-made ASGI handler, or an older asgiref, views use asgiref's
  own thread and connection: use ``TransactionTestCase`` there (tests/test_testing_django.py
  measures both).
* **Streaming.** ALB cannot stream from Lambda: a ``StreamingHttpResponse`` arrives whole, as
  ``response.content``. Repeated headers other than Set-Cookie arrive joined with ", ".

Needs Django; nothing else in ``alb_adapter`` imports this module.
"""

# Django ships no type hints: its names are Any here, and the classes below that extend
# Django's say so where they do.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import inspect
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.wsgi import WSGIHandler as DjangoWSGIHandler
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.http import HttpResponse
from django.test import Client
from django.urls import get_script_prefix, resolve, set_script_prefix
from django.utils.functional import SimpleLazyObject

from ..asgi import ASGIHandler
from ..config import Config
from ..emulator.invocation import response_head
from ..emulator.services import find_service
from ..wsgi import WSGIHandler
from .options import ClientOptions
from .wsgi_app import ERROR_HEADER, ALBWSGIApp

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from _typeshed.wsgi import WSGIEnvironment
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.http import HttpRequest
    from typing_extensions import Unpack

    from ..config import ConfigOptions
    from ..emulator.invocation import Handler, Outcome
    from .options import FrontDoorOptions as ALBDjangoClientOptions


__all__ = ["ALBDjangoASGIClient", "ALBDjangoClient"]

OPTIONS = ClientOptions(
    names=("multi_value_headers", "handler", "client_ip", "timeout", "source", "stage"),
    handler_example="WSGIHandler(get_wsgi_application())",
    unknown_hint=" (Django's environ defaults are upper-case CGI names such as HTTP_USER_AGENT)",
)
# asgiref 3.13 lets a block of async code give its thread-sensitive sync calls an executor of
# its own: what lets ASGI views use the test's database connections
# (ALBDjangoASGIClient.views_thread).
VIEWS_CAN_USE_THE_TESTS_CONNECTIONS = (
    "executor" in inspect.signature(ThreadSensitiveContext).parameters
)
REDIRECTS = range(300, 400)


class _RequestRecorder:
    """What a client's own Django handler shares with the client: the request object the views
    got (for ``response.wsgi_request``), whether CSRF checks are relaxed, and, under ASGI, the
    thread the views run in for this request."""

    def __init__(self, *, enforce_csrf_checks: bool) -> None:
        self.enforce_csrf_checks = enforce_csrf_checks
        self.request: HttpRequest | None = None
        self.view_thread: ThreadPoolExecutor | None = None

    def saw(self, request: HttpRequest) -> None:
        """Note ``request``, and mark it as Django's test client marks the requests it makes.

        ``_dont_enforce_csrf_checks`` is the flag Django's ``CsrfViewMiddleware`` and
        ``csrf_protect`` read to let a test client's request through (Django's ``ClientHandler``
        sets it from ``enforce_csrf_checks``); there is no public way to relax the checks for
        test requests only, and the request is built inside the Lambda handler, so it is set
        here, on the requests of this client's own handler only.
        """
        request._dont_enforce_csrf_checks = not self.enforce_csrf_checks
        self.request = request


class _RecordingWSGIHandler(DjangoWSGIHandler):  # type: ignore[misc]  # Django has no types
    """Django's WSGI handler (what ``get_wsgi_application()`` returns), noting each request."""

    def __init__(self, recorder: _RequestRecorder) -> None:
        self.recorder = recorder
        super().__init__()

    def get_response(self, request: HttpRequest) -> HttpResponse:
        self.recorder.saw(request)
        response: HttpResponse = super().get_response(request)
        return response


class _RecordingASGIHandler(DjangoASGIHandler):  # type: ignore[misc]  # Django has no types
    """Django's ASGI handler (what ``get_asgi_application()`` returns), noting each request, and
    running the sync views of a client's request in the thread the client chose for it.

    Django's ``__call__`` opens a ``ThreadSensitiveContext`` of its own, which is a no-op inside
    this one: Django's thread-sensitive calls (sync views, sync middleware, the ORM) then all go
    to ``recorder.view_thread``.
    """

    def __init__(self, recorder: _RequestRecorder) -> None:
        self.recorder = recorder
        super().__init__()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        view_thread = self.recorder.view_thread
        if view_thread is None:
            await super().__call__(scope, receive, send)
            return
        async with ThreadSensitiveContext(executor=view_thread):
            await super().__call__(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponse:
        self.recorder.saw(request)
        response: HttpResponse = await super().get_response_async(request)
        return response


class _ThroughALB:
    """What Django's ``Client.request`` calls as ``self.handler(environ)``: the environ sent
    through ALB to the Lambda handler, and the answer as an ``HttpResponse``."""

    def __init__(self, client: _ALBClient) -> None:
        self.client = client

    def __call__(self, environ: WSGIEnvironment) -> HttpResponse:
        return self.client.send_through_alb(environ)

    def __repr__(self) -> str:
        return f"<the way through ALB of {self.client!r}>"


class _ALBClient(Client):  # type: ignore[misc]  # Django has no types
    """What both clients share (see the module doc); a subclass says how to build the handler."""

    default_options: ClassVar[dict[str, Any]] = {}
    """Options every client of this class gets unless given others (``with_defaults``)."""
    BUILDS: ClassVar[str] = "a Lambda handler"
    """The handler the client builds without a ready-made one (for its repr)."""

    def __init__(
        self,
        enforce_csrf_checks: bool = False,
        raise_request_exception: bool = True,
        *,
        headers: Mapping[str, Any] | None = None,
        query_params: Mapping[str, Any] | None = None,
        **options_and_defaults: Any,
    ) -> None:
        options = {
            name: value for name, value in options_and_defaults.items() if _is_option_name(name)
        }
        environ_defaults = {
            name: value for name, value in options_and_defaults.items() if name not in options
        }
        if query_params is not None:  # Django 5.1 and later; 4.2 has no such argument
            environ_defaults["query_params"] = query_params
        super().__init__(
            enforce_csrf_checks, raise_request_exception, headers=headers, **environ_defaults
        )
        client_options, handler_options = OPTIONS.split(
            {**self.default_options, **options}, type(self).__name__
        )
        Config(**handler_options)  # a misspelt or wrong value fails here, not at the first request
        self.enforce_csrf_checks = enforce_csrf_checks
        self.multi_value_headers: bool = client_options.get("multi_value_headers", False)
        """The target group's header mode this client sends requests in."""
        self.client_ip: str | None = client_options.get("client_ip")
        """The address ALB appends to X-Forwarded-For; None: the request's ``REMOTE_ADDR``
        (``127.0.0.1`` in Django's client)."""
        self.timeout: float = client_options.get("timeout", 30.0)
        """The function's timeout in seconds."""
        self.source: str = client_options.get("source", "alb")
        """The front door requests go through (``"alb"``, ``"apigw-rest"``...)."""
        self.stage: str | None = client_options.get("stage")
        """The API Gateway stage whose execute-api URL requests go to; None: a custom domain
        (and every front door but API Gateway)."""
        self._handler_options = handler_options
        self._recorder = _RequestRecorder(enforce_csrf_checks=enforce_csrf_checks)
        self._ready_made: Handler | None = client_options.get("handler")
        self._built: WSGIHandler | ASGIHandler | None = None
        # The seam: Django's Client.request() calls self.handler(environ) for every request.
        self.handler = _ThroughALB(self)

    @classmethod
    def with_defaults(cls, **options: Unpack[ALBDjangoClientOptions]) -> type[Self]:
        """A subclass whose clients use these options unless given others: the one setting for
        ``TestCase.client_class``, which builds clients without arguments. Checked now, so a
        misspelt option fails where it is set, not in the first test."""
        chosen = {**cls.default_options, **options}
        _, handler_options = OPTIONS.split(chosen, f"{cls.__name__}.with_defaults()")
        Config(**handler_options)
        name = cls.__name__
        return cast(
            "type[Self]", type(name, (cls,), {"default_options": chosen, "__qualname__": name})
        )

    @property
    def lambda_handler(self) -> Handler:
        """The Lambda handler every request goes to: the ready-made one, or the one this client
        builds at its first request (as Django's client loads the middleware then, so settings a
        test overrides are those the handler's Django sees)."""
        if self._ready_made is not None:
            return self._ready_made
        if self._built is None:
            django.setup(set_prefix=False)  # what get_wsgi_application() does first
            self._built = self.build_handler(self._recorder, self._handler_options)
        return self._built

    def build_handler(
        self, recorder: _RequestRecorder, options: ConfigOptions
    ) -> WSGIHandler | ASGIHandler:
        """The Lambda handler over this project's Django application (per subclass)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the handler this client built, if any (an ASGIHandler's loop); a ready-made
        handler belongs to whoever made it. Optional: a dropped handler closes itself."""
        built, self._built = self._built, None
        if built is not None:
            built.close()

    def send_through_alb(self, environ: WSGIEnvironment) -> HttpResponse:
        """One request Django's client composed, the whole way through ALB: the response the
        client receives, with the request the views saw as ``wsgi_request``."""
        alb = ALBWSGIApp(
            self.lambda_handler,
            multi_value_headers=self.multi_value_headers,
            client_ip=self.client_ip,
            timeout=self.timeout,
            raise_handler_errors=self.raise_request_exception,
            source=self.source,
            stage=self.stage,
        )
        recorder = self._recorder
        recorder.request = None
        try:
            with _test_connections_kept_open(), _script_prefix_kept(), self.views_thread():
                outcome = alb.outcome(environ)
            seen = recorder.request
        finally:
            recorder.request = None
        response = django_response(outcome)
        response.wsgi_request = seen if seen is not None else WSGIRequest(environ)
        return response

    @contextmanager
    def views_thread(self) -> Iterator[None]:
        """Where the views of one request run, when the client must choose (under ASGI)."""
        yield

    def request(self, **request: Any) -> HttpResponse:
        """Django's ``Client.request``, with ``resolver_match`` resolved from the path the view
        saw: Django resolves the path the client sent, which under a base path still holds the
        prefix the handler takes off."""
        response: HttpResponse = super().request(**request)
        seen = response.wsgi_request
        urlconf = getattr(seen, "urlconf", None)
        response.resolver_match = SimpleLazyObject(lambda: resolve(seen.path_info, urlconf=urlconf))
        return response

    def __repr__(self) -> str:
        handler = self.BUILDS if self._ready_made is None else repr(self._ready_made)
        if self.source == "alb":
            mode = "multi-value" if self.multi_value_headers else "single-value"
            return f"<{type(self).__name__} through ALB to {handler}, {mode} headers>"
        door = find_service(self.source).label
        stage = "" if self.stage is None else f", stage {self.stage!r}"
        return f"<{type(self).__name__} through {door} to {handler}{stage}>"


class ALBDjangoClient(_ALBClient):
    """Django's test ``Client``, every request sent through ALB to
    ``WSGIHandler(get_wsgi_application(), **handler options)`` (see the module doc)."""

    BUILDS = "WSGIHandler(get_wsgi_application())"

    def build_handler(self, recorder: _RequestRecorder, options: ConfigOptions) -> WSGIHandler:
        return WSGIHandler(_RecordingWSGIHandler(recorder), **options)


class ALBDjangoASGIClient(_ALBClient):
    """Django's test ``Client`` (the same synchronous API), every request sent through ALB to
    ``ASGIHandler(get_asgi_application(), **handler options)`` (see the module doc)."""

    BUILDS = "ASGIHandler(get_asgi_application())"

    def build_handler(self, recorder: _RequestRecorder, options: ConfigOptions) -> ASGIHandler:
        # snapstart=False: no snapshot is ever taken of a test process.
        return ASGIHandler(_RecordingASGIHandler(recorder), snapstart=False, **options)

    @contextmanager
    def views_thread(self) -> Iterator[None]:
        """Run this request's sync views in a thread of their own that uses the test thread's
        database connections (see ``_use_connections``), when this client built the handler."""
        if self._ready_made is not None or not VIEWS_CAN_USE_THE_TESTS_CONNECTIONS:
            yield
            return
        shared = list(connections.all(initialized_only=True))
        for connection in shared:
            connection.inc_thread_sharing()
        view_thread = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="alb-django-views",
            initializer=_use_connections,
            initargs=(shared,),
        )
        self._recorder.view_thread = view_thread
        try:
            yield
        finally:
            self._recorder.view_thread = None
            try:
                view_thread.submit(_close_other_connections, shared).result()
            finally:
                view_thread.shutdown(wait=True)
                for connection in shared:
                    connection.dec_thread_sharing()


def _use_connections(shared: list[BaseDatabaseWrapper]) -> None:
    """In the views' thread: use the test thread's connections, and so its transaction.

    Django keeps one connection per alias and thread (``connections``); assigning one to an
    alias and allowing it to be shared (``inc_thread_sharing``) is how Django's own
    ``LiveServerThread`` gives a server thread the test's in-memory database. The test thread
    waits for the handler while the views run, so the connection is never used by two threads
    at once.
    """
    for connection in shared:
        connections[connection.alias] = connection


def _close_other_connections(shared: list[BaseDatabaseWrapper]) -> None:
    """In the views' thread, before it ends: close the connections it opened itself (an alias
    the test never used), which would otherwise stay open with nobody to close them."""
    for connection in connections.all(initialized_only=True):
        if connection not in shared:
            connection.close()


@contextmanager
def _test_connections_kept_open() -> Iterator[None]:
    """Let ``close_old_connections`` skip one request, as Django's test client does around the
    requests it makes: in production it closes connections past ``CONN_MAX_AGE`` (or left in a
    transaction) at each request's start and end, which in a test would close the connection
    holding ``TestCase``'s transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def _script_prefix_kept() -> Iterator[None]:
    """Keep the test thread's script prefix (what ``reverse()`` puts before a path). Django's
    WSGIHandler sets it from each request's SCRIPT_NAME and leaves it set, for the thread it
    runs in, which is here the test's: after a request under a ``base_path`` every ``reverse()``
    in the test, and in later tests, would start with it. Django's client leaves it alone."""
    prefix = get_script_prefix()
    try:
        yield
    finally:
        set_script_prefix(prefix)


def django_response(outcome: Outcome) -> HttpResponse:
    """The client's answer as Django's ``HttpResponse``: ALB's status, the headers ALB sends
    (``response_head``: its own Content-Length, no hop-by-hop headers), each Set-Cookie in
    ``response.cookies`` (where Django's client takes them for its cookie jar), and the body.
    ``url`` is set on a redirect with a Location, as Django's redirect responses have it
    (``assertRedirects`` and ``follow=True`` read it)."""
    response = HttpResponse(outcome.body, status=outcome.status)
    del response.headers["Content-Type"]  # HttpResponse's default; ALB's answer says its own
    for raw_name, raw_value in response_head(outcome):
        name = raw_name.decode("latin-1")
        value = raw_value.decode("utf-8")  # ALB sends the function's header strings as UTF-8
        if name.lower() == "set-cookie":
            _load_cookie(response.cookies, value)
        elif name in response.headers:
            response.headers[name] = f"{response.headers[name]}, {value}"
        else:
            response.headers[name] = value
    if outcome.reason:
        response.headers[ERROR_HEADER] = outcome.reason.encode("ascii", "replace").decode()
    location = response.headers.get("Location")
    if outcome.status in REDIRECTS and location is not None:
        response.url = location
    return response


def _load_cookie(jar: SimpleCookie, header: str) -> None:
    """Add one Set-Cookie header to ``jar``. ``http.cookies`` silently skips a header it cannot
    read (an attribute it does not know, say); the client would then lose the cookie without a
    word, so that is an error naming the cookie (never its value)."""
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(header)
    if not parsed:
        name = header.partition("=")[0].strip()
        raise ValueError(
            f"the Set-Cookie header for {name!r} cannot be read by http.cookies, so Django's "
            "test client could not keep it; check its attributes"
        )
    jar.update(parsed)


def _is_option_name(name: str) -> bool:
    """Options are lowercase names; Django's environ defaults are CGI names (``HTTP_...``) or
    dotted (``wsgi.url_scheme``), so a lowercase name that is not an option is a typo."""
    return name.isidentifier() and name == name.lower()
