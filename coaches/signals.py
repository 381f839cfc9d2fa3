"""Model signals that tell the home page's catalogue it changed (``services.catalogue``).

Saves and deletes of the rows the catalogue shows are caught here; the services that change
those rows by ``QuerySet.update`` (ratings, lowest prices, currencies) say so themselves."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from coaches.models import CoachProfile, SessionType, Specialization
from coaches.services.catalogue import home_catalogue_changed

# Saving only these account fields changes nothing the catalogue shows (a sign-in).
_ACCOUNT_FIELDS_NOT_SHOWN = frozenset({"last_login", "password"})


def _changed(sender: Any, **kwargs: Any) -> None:
    home_catalogue_changed()


def _account_saved(sender: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= _ACCOUNT_FIELDS_NOT_SHOWN:
        return
    home_catalogue_changed()


def _specializations_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        home_catalogue_changed()


def connect() -> None:
    for model in (CoachProfile, SessionType, Specialization):
        post_save.connect(_changed, sender=model, dispatch_uid=f"catalogue-save-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"catalogue-delete-{model.__name__}"
        )
    user_model = get_user_model()
    post_save.connect(_account_saved, sender=user_model, dispatch_uid="catalogue-save-account")
    post_delete.connect(_changed, sender=user_model, dispatch_uid="catalogue-delete-account")
    m2m_changed.connect(
        _specializations_changed,
        sender=CoachProfile.specializations.through,
        dispatch_uid="catalogue-specializations",
    )
