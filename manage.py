#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    # Management commands on a developer's machine; the Docker image selects production.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.development")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
