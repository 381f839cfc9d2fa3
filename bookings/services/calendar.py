"""Personal iCal feeds: the secret token in the feed's URL is its only credential."""

from __future__ import annotations

import secrets

from django.db import transaction

from bookings.models import CalendarFeed
from marketplace.models import User


def calendar_feed_for(*, user: User, rotate: bool = False) -> CalendarFeed:
    """The user's personal iCal feed (made on first use); ``rotate`` issues a new secret."""
    with transaction.atomic():
        feed, created = CalendarFeed.objects.select_for_update().get_or_create(
            user=user, defaults={"token": secrets.token_urlsafe(32)}
        )
        if rotate and not created:
            feed.token = secrets.token_urlsafe(32)
            feed.save(update_fields=["token"])
        return feed
