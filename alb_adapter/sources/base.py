"""What every event source provides: the handler needs nothing else to serve its events."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..config import Config
    from ..model import Request, Response

    Matches = Callable[[object], bool]
    # The event is Any here: a source's own parse_event takes the type its ``matches`` vouched for.
    ParseEvent = Callable[[Any, object, Config], Request]
    RenderResponse = Callable[[Response, Request, Config], dict[str, object]]


class Source:
    """One wire format: how to recognise its events, read them, and answer in its format.

    ``name`` is the identifier (``"alb"``: ``Request.source``, the CLI's ``--source``), ``label``
    what people call it (``"ALB"``, in error messages), ``description`` how its events are known.
    ``known_by`` lists the keys (dotted for nested ones) its events always have: for an event no
    source matches, the error names the source it has most of and the keys it lacks.

    ``matches`` must be cheap and exact (it runs on every invocation, before any parsing) and must
    not claim another source's events: the registry in ``alb_adapter/sources/__init__.py`` tries
    the sources in a documented order and takes the first that matches.
    """

    __slots__ = (
        "description",
        "known_by",
        "label",
        "matches",
        "name",
        "parse_event",
        "render_response",
    )

    def __init__(
        self,
        *,
        name: str,
        label: str,
        description: str,
        matches: Matches,
        parse_event: ParseEvent,
        render_response: RenderResponse,
        known_by: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.label = label
        self.description = description
        self.matches = matches
        self.parse_event = parse_event
        self.render_response = render_response
        self.known_by = known_by

    def __repr__(self) -> str:
        return f"<Source {self.name}: {self.description}>"
