"""The home page's catalogue (its featured coaches and the specialisations on offer) is
rendered once per language and catalogue version, not on every visit.

Every change to what the catalogue shows replaces the version after it commits: a coach's
profile, photo, approval or ability to take charges, their account (name, active), their
session types and prices, their rating, the specialisations. A fragment rendered from rows
read before the change is stored under the old version, which no page reads again. The
fragment's expiry (``HOME_CATALOGUE_SECONDS``) bounds what a change made around the
services (a bulk update in a shell) leaves on the page.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import transaction

HOME_CATALOGUE_VERSION_KEY = "coaches:home-catalogue-version"
HOME_CATALOGUE_SECONDS = 60


def home_catalogue_version() -> str:
    """The catalogue's current version (``"0"`` until the first change, or without Redis)."""
    return cache.get(HOME_CATALOGUE_VERSION_KEY) or "0"


def home_catalogue_changed() -> None:
    """A new catalogue version once the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: cache.set(HOME_CATALOGUE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    )
