"""The ``alb_adapter`` logger, imported lazily: ``logging`` costs milliseconds of cold start and is
needed only when something goes wrong (the Lambda runtime has usually imported it already)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    import logging

LOGGER_NAME = "alb_adapter"


def logger() -> logging.Logger:
    """The package logger; never log events, cookies or authorization above DEBUG
    (docs/alb-behaviour.md, rule 15)."""
    import logging

    return logging.getLogger(LOGGER_NAME)
