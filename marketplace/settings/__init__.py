"""Coach Connect settings: one module per way of running the product (``docs/settings.md``).

- ``marketplace.settings.development``: ``manage.py`` and ``make run``; DEBUG on.
- ``marketplace.settings.test``: pytest (``pyproject.toml``) and the workers the tests start.
- ``marketplace.settings.production``: ``uvicorn``/``celery`` unless told otherwise, the
  Docker image; refuses to start with a configuration the system checks refuse.

``base`` holds what they share and is never selected on its own.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if os.environ.get("DJANGO_SETTINGS_MODULE") in (__name__, f"{__name__}.base"):
    raise ImproperlyConfigured(
        f"DJANGO_SETTINGS_MODULE={os.environ['DJANGO_SETTINGS_MODULE']} is not a settings "
        f"module to run: choose {__name__}.development, {__name__}.test or "
        f"{__name__}.production."
    )
