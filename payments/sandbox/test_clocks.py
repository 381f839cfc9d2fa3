"""Test clocks (``/v1/test_helpers/test_clocks``): a frozen time of its own for the
customers made on it and everything of theirs, advanced only when asked.

Stripe's rules kept here: a clock moves forward only; at most two years when nothing bills on
it, else at most two intervals of its shortest subscription; it holds up to three customers;
one advance at a time. An advance answers ``advancing`` and the clock is ``ready`` when what
fell due in between is done (here, before the answer is sent: retrieve it to see ``ready``);
``test_helpers.test_clock.advancing`` and ``.ready`` are sent. Deleting a clock deletes its
customers. Stripe deletes a clock 7 days after it is made (``deletes_after``); the local
Stripe keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from payments.sandbox import customers, errors, events, store
from payments.sandbox.models import StripeObject

MAX_CUSTOMERS = 3
DELETES_AFTER_SECONDS = 7 * 86400
TWO_YEARS_SECONDS = 2 * 366 * 86400

# Billing runs what falls due on a clock between two times: ``(clock_id, until)``. Set by
# the subscriptions module; the shortest interval bounds an advance (``(clock_id) ->
# seconds | None``).
WHEN_ADVANCED: list[Callable[[str, int], None]] = []
SHORTEST_INTERVAL: list[Callable[[str], int | None]] = []


def clock_create(*, frozen_time: int, name: str | None = None) -> dict[str, Any]:
    created = store.now()
    clock = {
        "id": store.new_id("clock_"),
        "object": "test_helpers.test_clock",
        "created": created,
        "deletes_after": created + DELETES_AFTER_SECONDS,
        "frozen_time": frozen_time,
        "livemode": False,
        "name": name,
        "status": "ready",
        "status_details": {"advancing": None},
    }
    store.insert(clock)
    events.record("test_helpers.test_clock.created", clock)
    return clock


def clock_row(clock_id: str, *, lock: bool = False, param: str = "test_clock") -> StripeObject:
    return store.get(
        clock_id,
        "test_helpers.test_clock",
        account="",
        lock=lock,
        kind="test_helpers.test_clock",
        param=param,
    )


def frozen_time(clock_id: str) -> int:
    return int(clock_row(clock_id).data["frozen_time"])


def check_room_for_customer(clock_id: str) -> None:
    clock_row(clock_id)
    held = StripeObject.objects.filter(
        object_type="customer", data__test_clock=clock_id, internal__deleted__isnull=True
    ).count()
    if held >= MAX_CUSTOMERS:
        raise errors.invalid(
            "test_clock",
            f"You can add at most {MAX_CUSTOMERS} customers to a test clock.",
        )


def clock_advance(*, clock_id: str, to: int) -> dict[str, Any]:
    row = clock_row(clock_id, lock=True, param="id")
    clock = row.data
    if clock["status"] != "ready":
        raise errors.invalid(
            "id", "The test clock is currently advancing. Try again once it is ready."
        )
    if to <= clock["frozen_time"]:
        raise errors.invalid(
            "frozen_time", "The frozen_time must be after the test clock's current frozen time."
        )
    shortest = min(
        (seconds for find in SHORTEST_INTERVAL if (seconds := find(clock_id)) is not None),
        default=None,
    )
    limit = TWO_YEARS_SECONDS if shortest is None else 2 * shortest
    if to - clock["frozen_time"] > limit:
        raise errors.invalid(
            "frozen_time",
            "Cannot advance more than two intervals in the future from the shortest subscription "
            "in this test clock."
            if shortest is not None
            else "Cannot advance a test clock with no subscriptions more than two years.",
        )
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": to}}
    store.save(row)
    answer = dict(clock)
    events.record("test_helpers.test_clock.advancing", clock)
    for run in WHEN_ADVANCED:
        run(clock_id, to)
    clock["frozen_time"] = to
    clock["status"] = "ready"
    clock["status_details"] = {"advancing": None}
    store.save(row)
    events.record("test_helpers.test_clock.ready", clock)
    return answer


def clock_delete(*, clock_id: str) -> dict[str, Any]:
    row = clock_row(clock_id, lock=True, param="id")
    for customer in StripeObject.objects.filter(
        object_type="customer", data__test_clock=clock_id, internal__deleted__isnull=True
    ):
        customers.customer_delete(customer_id=customer.stripe_id)
    data = row.data
    row.delete()
    events.record("test_helpers.test_clock.deleted", data)
    return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}
