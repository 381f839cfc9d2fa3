"""Pagination of coach searches with the total counted at most once a minute."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_TTL_SECONDS = 60


class CachedCountPaginator(Paginator):
    """A ``Paginator`` whose ``count`` is cached per query for a minute.

    Counting thousands of matching coaches costs more than reading one page of them (the
    page comes from an index in sort order); the total shown ("Page 2 of 40") may lag a
    minute behind, which discovery tolerates. The key is the SQL with its parameters, so
    different filters never share a count.
    """

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        try:
            sql = str(query) if query is not None else ""
        except EmptyResultSet:
            return 0
        if not sql:
            return Paginator.count.func(self)  # type: ignore[attr-defined]
        key = "coaches:search-count:" + hashlib.sha256(sql.encode()).hexdigest()
        cached = cache.get(key)
        if cached is None:
            cached = Paginator.count.func(self)  # type: ignore[attr-defined]
            cache.set(key, cached, COUNT_TTL_SECONDS)
        return int(cached)
