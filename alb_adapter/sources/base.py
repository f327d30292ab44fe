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

    ``codec`` returns the source's ``(parse_event, render_response)``, importing their modules:
    it is called on the first use of either, so a function serves one front door without
    importing the parsers of the six others at cold start (each package's ``detect`` module holds
    only its ``matches``).
    """

    __slots__ = (
        "_codec",
        "_parse_event",
        "_render_response",
        "description",
        "known_by",
        "label",
        "matches",
        "name",
    )

    def __init__(
        self,
        *,
        name: str,
        label: str,
        description: str,
        matches: Matches,
        codec: Callable[[], tuple[ParseEvent, RenderResponse]],
        known_by: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.label = label
        self.description = description
        self.matches = matches
        self._codec = codec
        self._parse_event: ParseEvent | None = None
        self._render_response: RenderResponse | None = None
        self.known_by = known_by

    @property
    def parse_event(self) -> ParseEvent:
        """Event -> Request (InvalidEvent naming the field when the event is malformed)."""
        return self._parse_event or self._load()[0]

    @property
    def render_response(self) -> RenderResponse:
        """Response -> the dict this source's service accepts."""
        return self._render_response or self._load()[1]

    def _load(self) -> tuple[ParseEvent, RenderResponse]:
        # Two threads may both load: the import system serialises the imports, and both then
        # store the same two functions.
        parse_event, render_response = self._codec()
        self._parse_event, self._render_response = parse_event, render_response
        return parse_event, render_response

    def __repr__(self) -> str:
        return f"<Source {self.name}: {self.description}>"
