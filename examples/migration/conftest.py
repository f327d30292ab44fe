"""Put this demo's directory on sys.path, so its tests ``import legacy_app`` as uvicorn's
``--app-dir`` does (pytest runs with ``--import-mode=importlib``, which adds nothing itself)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
