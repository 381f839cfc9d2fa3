"""Pagination of coach searches with the total counted at most once a minute, and, on the
search page, counted only up to a cap."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_TTL_SECONDS = 60
# The search page says "1,000+ coaches found" past this many.
SEARCH_COUNT_CAP = 1000


class CachedCountPaginator(Paginator):
    """A ``Paginator`` whose ``count`` is cached per query for a minute and, with
    ``count_cap``, stops counting past ``count_cap`` matches.

    Counting thousands of matching coaches costs more than reading one page of them (the
    page comes from an index in sort order): at 100,000 coaches an exact count of a common
    filter reads every match. With a cap the count reads at most ``count_cap + 1`` rows;
    ``count`` is then ``count_cap + 1``, ``count_is_capped`` is true and ``count_label``
    says "1,000+"; pages past the cap are not offered. The total may lag a minute behind,
    which discovery tolerates. The key is the SQL with its parameters (and the cap), so
    different filters never share a count.
    """

    def __init__(self, *args: Any, count_cap: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count_cap = count_cap

    def _count_now(self) -> int:
        if self.count_cap is None:
            return int(Paginator.count.func(self))  # type: ignore[attr-defined]
        matches = cast(QuerySet[Any], self.object_list)
        return matches.order_by()[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        try:
            sql = str(query) if query is not None else ""
        except EmptyResultSet:
            return 0
        if not sql:
            return Paginator.count.func(self)  # type: ignore[attr-defined]
        key = (
            "coaches:search-count:" + hashlib.sha256(f"{self.count_cap}:{sql}".encode()).hexdigest()
        )
        cached = cache.get(key)
        if cached is None:
            cached = self._count_now()
            cache.set(key, cached, COUNT_TTL_SECONDS)
        return int(cached)

    @property
    def count_is_capped(self) -> bool:
        return self.count_cap is not None and self.count > self.count_cap

    @property
    def count_label(self) -> str:
        """The total as the page says it: "1,000+" past the cap, else the number."""
        if self.count_is_capped:
            return f"{self.count_cap:,}+"
        return f"{self.count:,}"
