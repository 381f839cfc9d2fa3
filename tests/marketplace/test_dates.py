"""Moments as a reader sees them: the cached skeleton patterns render exactly as Babel's own
``format_skeleton`` does, in every locale the site may use."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from babel import Locale, dates
from django.template import Context, Template
from django.utils import timezone, translation

from marketplace import dates as site_dates


@pytest.mark.parametrize("locale", ["en", "en_GB", "de", "fr", "es", "ja"])
@pytest.mark.parametrize("skeleton", ["yMMMMEEEEd", "yMMMd", "MMM", "yMMMM"])
def test_a_cached_skeleton_renders_as_babel_does(locale, skeleton):
    cldr = Locale.parse(locale)
    for moment in (datetime(2026, 12, 3, 9, 5, tzinfo=UTC), date(2027, 1, 31)):
        expected = dates.format_skeleton(skeleton, moment, locale=cldr)
        # twice: the second from the cached pattern
        assert site_dates.format_skeleton(skeleton, moment, cldr=cldr) == expected
        assert site_dates.format_skeleton(skeleton, moment, cldr=cldr) == expected


def test_format_when_names_the_day_the_time_and_the_zone():
    moment = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    day = dates.format_skeleton("yMMMMEEEEd", moment.astimezone(site_dates.zone("Europe/Berlin")))
    assert site_dates.format_when(moment, "Europe/Berlin", locale="en") == (
        f"{day}, 09:00 (Europe/Berlin)"
    )
    assert "December 3, 2026" in day


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "Pacific/Kiritimati", "America/Adak", ""])
def test_a_day_reads_as_djangos_date_filter_in_the_zone(language, zone_name):
    # given a moment near midnight, where the zone decides the day
    moments = [datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2027, 3, 1, 0, 15, tzinfo=UTC)]
    with translation.override(language), timezone.override(zone_name or "UTC"):
        for moment in moments:
            expected = Template('{{ moment|date:"j M Y" }}').render(Context({"moment": moment}))
            # twice: the second from the cache
            assert site_dates.format_day(moment, zone_name) == expected
            assert site_dates.format_day(moment, zone_name) == expected
