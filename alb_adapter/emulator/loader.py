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
from typing import Any

from ..handler import BaseHandler

log = logging.getLogger("alb_adapter.emulator")


class TargetLoadError(Exception):
    """The target cannot be imported or is not something the load balancer can call."""


def load_target(spec: str, **handler_options: Any) -> Any:
    """The Lambda handler ``spec`` names (a bare app comes back wrapped in its handler).

    ``handler_options`` (``base_path``...) are used when wrapping an app; naming options for a
    ready-made handler is refused, since they could not reach it.
    """
    obj = _import(spec)
    return as_handler(obj, spec, **handler_options)


def _import(spec: str) -> Any:
    module_part, attr = _split(spec)
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        module = _import_file(Path(module_part), spec)
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
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
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        parameters = list(inspect.signature(obj).parameters)
        if parameters[:1] not in (["environ"], ["env"], ["environment"]):
            if handler_options:
                raise TargetLoadError(
                    f"{spec} looks like a Lambda handler (event, context); "
                    f"{', '.join(sorted(handler_options))} cannot reach it"
                )
            return obj  # a plain Lambda handler function
    from ..wsgi import WSGIHandler

    log.info("%s is a WSGI app: serving it through WSGIHandler", spec)
    return WSGIHandler(obj, **handler_options)
