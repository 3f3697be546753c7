"""Django's command line for the example site: ``python example_apps/django_site/manage.py migrate``."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    # Appended, not prepended: `redis_sessions` stays the installed package (see example_apps/serve.py).
    sys.path.append(str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_apps.django_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
