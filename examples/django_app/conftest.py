"""Make the example importable and pin its settings before anything imports Django.

pytest runs from the repository root with ``--import-mode=importlib``, so nothing puts this
directory on ``sys.path`` by itself. Django reads its settings once per process, so the
environment the settings read is fixed here, before the first import, and tests that need other
settings use ``override_settings`` around a single call instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXAMPLE_DIR = str(Path(__file__).resolve().parent)
if EXAMPLE_DIR not in sys.path:
    sys.path.insert(0, EXAMPLE_DIR)

os.environ["DJANGO_SETTINGS_MODULE"] = "django_example.settings"
# The tests check the documented defaults; a developer's shell must not change them.
for _name in (
    "ALB_BASE_PATH",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_DEBUG",
    "DJANGO_SECURE_COOKIES",
):
    os.environ.pop(_name, None)
