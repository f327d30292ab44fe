"""Put this example's directory on sys.path, so its tests ``import fastapi_example`` as Lambda
does (pytest runs with ``--import-mode=importlib``, which adds nothing to sys.path itself).

Importing the module builds its Lambda handler, which runs the lifespan and opens ``NOTES_DB``:
tests point it at an in-memory database, never at a developer's file. The tests build their own
handlers, each with its own database file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

os.environ["NOTES_DB"] = ":memory:"
