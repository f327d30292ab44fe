#!/usr/bin/env python
"""Django's command-line utility, for ``runserver`` and ``check`` while developing locally."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run a management command with this example's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
