"""``python -m alb_adapter``: the ``alb-adapter`` command, for when the script is not on PATH."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
