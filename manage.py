#!/usr/bin/env python
"""Django's command-line utility for WhereWhen."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# platform/ holds the project package (wherewhen); it is a folder, never a Python package,
# so the standard-library module ``platform`` is not shadowed.
sys.path.insert(0, str(ROOT / "platform"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wherewhen.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
