"""Finding the Lambda handler a target names, the ways Lambda and Python users name it.

``module:attr`` (Python's convention), ``path/to/file.py:attr`` (a file beside no package), and
Lambda's own handler setting ``file.function`` (``flask_example.handler``). A bare WSGI or ASGI app
is wrapped in the matching handler, with a note in the log, so ``serve app:app`` just works.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import sys
from pathlib import Path
from typing import Any, Protocol

from ..handler import BaseHandler

log = logging.getLogger("alb_adapter.emulator")


class TargetLoadError(Exception):
    """The target cannot be imported or is not something the load balancer can call."""


class LambdaTargetSpec(Protocol):
    """What ``load_lambda_target`` reads of a target: ``rules.Target`` (named here only by its
    shape, since rules.py imports this module)."""

    @property
    def name(self) -> str: ...
    @property
    def handler(self) -> str | None: ...
    @property
    def task_root(self) -> str | None: ...
    @property
    def origin(self) -> str: ...


def load_target(spec: str, *, task_root: str | Path | None = None, **handler_options: Any) -> Any:
    """The Lambda handler ``spec`` names (a bare app comes back wrapped in its handler).

    ``task_root`` is the directory the handler is found in, as Lambda's task root is: a relative
    file path is read from it and modules are imported from it first. None means the current
    directory (``serve TARGET``); a rules file gives its own directory (``Target.task_root``).

    ``handler_options`` (``base_path``...) are used when wrapping an app; naming options for a
    ready-made handler is refused, since they could not reach it.
    """
    obj = _import(spec, None if task_root is None else Path(task_root))
    return as_handler(obj, spec, **handler_options)


def load_lambda_target(target: LambdaTargetSpec, **handler_options: Any) -> Any:
    """``load_target`` for a target of a listener configuration, its errors prefixed with where
    the target is defined and which rules forward to it (``Target.origin``), so that one line
    says which file, rule and target to fix."""
    if target.handler is None:
        raise TargetLoadError(f"{target.origin or target.name}: not a Lambda target")
    try:
        return load_target(target.handler, task_root=target.task_root, **handler_options)
    except TargetLoadError as exc:
        raise TargetLoadError(f"{target.origin}: {exc}" if target.origin else str(exc)) from exc
    except Exception as exc:  # a handler's constructor failing, e.g. a bad base_path
        where = f"{target.origin}: " if target.origin else ""
        raise TargetLoadError(f"{where}{target.handler}: {type(exc).__name__}: {exc}") from exc


def handler_file(spec: str) -> str | None:
    """The file a handler spec names (``path/to/app.py:handler``), or None when it names a module
    (``app:handler``, Lambda's ``app.handler``) or is malformed (``load_target`` explains)."""
    try:
        module_part, _ = _split(spec)
    except TargetLoadError:
        return None
    return module_part if _names_a_file(module_part) else None


def _names_a_file(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or "\\" in module_part


def _import(spec: str, task_root: Path | None) -> Any:
    module_part, attr = _split(spec)
    if _names_a_file(module_part):
        path = Path(module_part) if task_root is None else task_root / module_part
        module = _import_file(path, spec)
    else:
        if task_root is not None:
            root = str(task_root.resolve())
            if root in sys.path:
                sys.path.remove(root)
            sys.path.insert(0, root)  # searched first, as Lambda's task root is
            cwd = str(Path.cwd())
            if "" not in sys.path and cwd not in sys.path:
                # Then the current directory, where rules files once had to be run from.
                sys.path.insert(1, cwd)
        elif "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))  # as `python -m` and Lambda's task root do
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name and module_part.startswith(exc.name):
                raise TargetLoadError(f"{spec}: no module named {module_part!r}") from exc
            raise TargetLoadError(f"{spec}: importing {module_part!r} failed: {exc}") from exc
        except Exception as exc:
            raise TargetLoadError(
                f"{spec}: importing {module_part!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetLoadError(f"{spec}: {module_part!r} has no attribute {attr!r}") from None
    return obj


def _split(spec: str) -> tuple[str, str]:
    if ":" in spec:
        module_part, _, attr = spec.rpartition(":")
        if not module_part or not attr:
            raise TargetLoadError(f"{spec}: expected 'module:attr' or 'file.function'")
        return module_part, attr
    module_part, dot, attr = spec.rpartition(".")
    if not dot or not module_part or not attr:
        raise TargetLoadError(
            f"{spec}: expected 'module:attr', 'path/to/file.py:attr' or Lambda's 'file.function'"
        )
    return module_part, attr


def _import_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise TargetLoadError(f"{spec}: no such file {str(path)!r}")
    # The module gets the name Lambda would import it under (the file's stem). Another module
    # already holding that name is never replaced: the same file is reused, a different one is an
    # error (on Lambda, `import json` finds the runtime's json, not your json.py, too).
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None:
        existing_file = getattr(existing, "__file__", None)
        if existing_file and Path(existing_file).resolve() == path.resolve():
            return existing
        where = existing_file or "a built-in module"
        raise TargetLoadError(
            f"{spec}: the module name {name!r} is already taken by {where}; rename the file"
        )
    # Only for a file that will be loaded: a refused one leaves sys.path as it was (its folder
    # could shadow other modules, such as its own json.py).
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # its neighbours import as they would on Lambda
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise TargetLoadError(f"{spec}: cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise TargetLoadError(
            f"{spec}: importing {str(path)!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _is_lambda_handler(obj: Any) -> bool:
    """Whether ``obj`` is called as ``(event, context)`` rather than as a WSGI app.

    A function is a Lambda handler unless its first parameter is named as WSGI's environ. Any
    other callable (an instance with ``__call__``: Flask, Django's WSGIHandler, but also another
    adapter's handler object, such as Mangum's) is one only when its parameters say so: the first
    named ``event`` or the second ``context``; otherwise it is taken for a WSGI app, as before.
    """
    try:
        parameters = list(inspect.signature(obj).parameters)
    except (TypeError, ValueError):  # no signature to read (some builtins): a WSGI app
        return False
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return parameters[:1] not in (["environ"], ["env"], ["environment"])
    return parameters[:1] == ["event"] or parameters[1:2] == ["context"]


def _is_asgi(obj: Any) -> bool:
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(obj, "__call__", None)  # noqa: B004 (classes with an async __call__)
    return call is not None and inspect.iscoroutinefunction(call)


def as_handler(obj: Any, spec: str = "target", **handler_options: Any) -> Any:
    """A Lambda handler for ``obj``: itself if it is one, else the WSGI/ASGI handler around it."""
    if isinstance(obj, BaseHandler):
        if handler_options:
            raise TargetLoadError(
                f"{spec} is already a handler; give {', '.join(sorted(handler_options))} to it "
                "in your code, or point at the bare app instead"
            )
        return obj
    if not callable(obj):
        kind = type(obj).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise TargetLoadError(f"{spec} is {article} {kind}, not a handler or an app")
    if _is_asgi(obj):
        from ..asgi import ASGIHandler

        log.info("%s is an ASGI app: serving it through ASGIHandler", spec)
        return ASGIHandler(obj, **handler_options)
    if _is_lambda_handler(obj):
        if handler_options:
            raise TargetLoadError(
                f"{spec} looks like a Lambda handler (event, context); "
                f"{', '.join(sorted(handler_options))} cannot reach it"
            )
        return obj  # a plain Lambda handler, or another adapter's (a Mangum object)
    from ..wsgi import WSGIHandler

    log.info("%s is a WSGI app: serving it through WSGIHandler", spec)
    return WSGIHandler(obj, **handler_options)
