"""The options the framework test clients take beside their framework's own arguments: the
client's (the front door, how it calls the handler) and the handler's (``alb_adapter/config.py``).

Flask's and Django's clients take them the same way, as one bag of keywords, so they sort and
check them the same way here; each names its own options and words its errors for its users.
Checked where the client (or its class's defaults) is set up, so a mistake fails there, not at
the first request.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..emulator.services import find_service

if TYPE_CHECKING:
    from ..config import ConfigOptions
    from ..emulator.invocation import Handler

    class FrontDoorOptions(ConfigOptions, total=False):
        """The keywords every framework client takes besides its framework's own: the client's
        options (the front door and the handler it calls), and the handler's."""

        multi_value_headers: bool
        handler: Handler
        client_ip: str | None
        timeout: float
        source: str
        stage: str | None


# Every keyword-only parameter of Config is a handler option: read from it, so a new option
# reaches the clients without a list to keep in step.
HANDLER_OPTIONS = tuple(
    name
    for name, parameter in inspect.signature(Config).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
)


@dataclass(frozen=True)
class ClientOptions:
    """One client's option names, and the words its errors use.

    ``names`` are the client's own options; ``handler_example`` is the ready-made handler its
    users would pass (for the error on a ``handler=`` that is not one); ``unknown_hint`` ends the
    error on an unknown option (Django's clients say where its environ defaults go).
    """

    names: tuple[str, ...]
    handler_example: str
    unknown_hint: str = ""

    def split(self, options: dict[str, Any], where: str) -> tuple[dict[str, Any], ConfigOptions]:
        """(the client's options, the handler's), refusing unknown names, a ready-made handler
        given together with options for building one, and settings the front door does not have;
        ``where`` begins each error (the client's class, or the call that set the defaults)."""
        unknown = sorted(set(options) - set(self.names) - set(HANDLER_OPTIONS))
        if unknown:
            raise TypeError(
                f"{where}: unknown option {', '.join(map(repr, unknown))}; the options are "
                f"{', '.join(self.names)}, and the handler's: {', '.join(HANDLER_OPTIONS)}"
                f"{self.unknown_hint}"
            )
        client_options = {name: value for name, value in options.items() if name in self.names}
        handler_options: Any = {
            name: value for name, value in options.items() if name in HANDLER_OPTIONS
        }
        self._check_handler(client_options.get("handler"), handler_options, where)
        _check_flag(client_options, "multi_value_headers", where)
        _check_front_door(client_options, where)
        _check_flag(client_options, "raise_handler_errors", where)
        return client_options, handler_options

    def _check_handler(self, handler: object, handler_options: dict[str, Any], where: str) -> None:
        if handler is None:
            return
        if handler_options:
            raise TypeError(
                f"{where}: handler= is a ready-made handler, built with its own options; give "
                f"either handler= or the options to build one "
                f"({', '.join(sorted(handler_options))}), not both"
            )
        if not callable(handler):
            raise TypeError(
                f"{where}: handler= must be a Lambda handler (a callable taking event and "
                f"context, such as {self.handler_example}), got {handler!r}"
            )


def _check_flag(client_options: dict[str, Any], name: str, where: str) -> None:
    """A True-or-False option must be one: a truthy string would otherwise pass silently."""
    if name in client_options and not isinstance(client_options[name], bool):
        raise TypeError(f"{where}: {name} must be True or False, got {client_options[name]!r}")


def _check_front_door(client_options: dict[str, Any], where: str) -> None:
    """Refuse a front door that does not exist, or settings it does not have (``Service.check``:
    multi-value headers are ALB's, stages API Gateway's)."""
    stage = client_options.get("stage")
    if stage is not None and not isinstance(stage, str):
        raise TypeError(f"{where}: stage must be a stage name or None, got {stage!r}")
    try:
        service = find_service(client_options.get("source", "alb"))
        service.check(
            multi_value_headers=client_options.get("multi_value_headers", False), stage=stage
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
