"""Races on the real Postgres: threads, each with its own connection, at the same moment."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections

from bookings.models import Booking, BookingStatus
from bookings.services import cancellation, holds, rescheduling
from marketplace.errors import DomainError
from tests.bookings.factories import next_hour, open_coach, paid_package
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _overlapping_live_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.coach_id = b.coach_id AND a.id < b.id
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
            """
        )
        return cursor.fetchone()[0]


def test_fifty_concurrent_holds_on_overlapping_times_give_exactly_one_hold():
    # given: one coach, 50 clients wanting times that all overlap 10:00-11:00
    coach, session_type = open_coach()
    clients = [UserFactory() for _ in range(50)]
    base = next_hour(days=2)
    barrier = threading.Barrier(50)

    def attempt(index: int):
        try:
            barrier.wait(timeout=30)
            booking = holds.booking_hold(
                client=clients[index],
                session_type=session_type,
                starts_at=base + timedelta(minutes=index % 50),
            )
            return ("held", booking.pk)
        except DomainError as error:
            return (error.code, error)
        finally:
            connections.close_all()

    # when
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))

    # then: one hold; 49 "that time was just taken" with nearest free slots offered
    held = [o for o in outcomes if o[0] == "held"]
    taken = [o[1] for o in outcomes if o[0] == "slot_taken"]
    assert len(held) == 1, outcomes
    assert len(taken) == 49
    assert all(error.message == "That time was just taken." for error in taken)
    assert all(error.nearest for error in taken)
    assert Booking.objects.filter(coach=coach, status=BookingStatus.HELD).count() == 1
    assert _overlapping_live_pairs() == 0


def test_a_thousand_random_concurrent_hold_cancel_reschedule_operations_never_overlap():
    # given: three coaches, clients with packages (confirmed at once, cancellable and movable
    # without Stripe) and clients paying (held until paid)
    rng = random.Random(20261122)
    coaches = [open_coach() for _ in range(3)]
    clients = [UserFactory() for _ in range(12)]
    packages = {
        (client.pk, coach.pk): paid_package(client=client, session_type=session_type, sessions=50)
        for client in clients[:8]
        for coach, session_type in coaches
    }
    base = next_hour(days=2)
    # 15-minute grid over two days: plenty of collisions, room to move.
    starts = [base + timedelta(minutes=15 * step) for step in range(192)]
    # 20 confirmed package sessions per coach to start from, two hours apart (the coaches
    # are open 00:00-23:59 UTC, so nothing runs past midnight)
    seeds = [start for start in starts[::8] if start.hour < 23][:20]
    for coach, session_type in coaches:
        for index, starts_at in enumerate(seeds):
            client = clients[index % 8]
            holds.booking_hold(
                client=client,
                session_type=session_type,
                starts_at=starts_at,
                package_purchase=packages[(client.pk, coach.pk)],
            )
    plans = []
    for _ in range(1000):
        plans.append(
            (
                rng.choice(["hold", "hold", "cancel", "reschedule", "reschedule"]),
                rng.randrange(3),
                rng.randrange(len(clients)),
                rng.choice(starts),
                rng.random(),
            )
        )
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def run(plan) -> None:
        operation, coach_index, client_index, starts_at, pick = plan
        coach, session_type = coaches[coach_index]
        client = clients[client_index]
        outcome = "ok"
        try:
            if operation == "hold":
                holds.booking_hold(
                    client=client,
                    session_type=session_type,
                    starts_at=starts_at,
                    package_purchase=packages.get((client.pk, coach.pk)),
                )
            else:
                confirmed = list(
                    Booking.objects.filter(coach=coach, status=BookingStatus.CONFIRMED)
                    .exclude(package_purchase=None)
                    .values_list("pk", flat=True)
                )
                if not confirmed:
                    outcome = "nothing"
                else:
                    booking = Booking.objects.get(pk=confirmed[int(pick * len(confirmed))])
                    if operation == "cancel":
                        cancellation.booking_cancel(booking=booking, by=coach.user)
                    else:
                        rescheduling.booking_reschedule(
                            booking=booking, by=coach.user, starts_at=starts_at
                        )
        except DomainError as error:
            outcome = error.code
        finally:
            connections.close_all()
        with lock:
            counts[f"{operation}:{outcome}"] = counts.get(f"{operation}:{outcome}", 0) + 1

    # when: 16 threads at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(run, plans))

    # then: every operation ended in a result or a domain error (no 500), some of each kind
    # succeeded and some collided, and no coach has two overlapping live bookings
    assert sum(counts.values()) == 1000
    assert set(counts) <= {
        f"{op}:{outcome}"
        for op in ("hold", "cancel", "reschedule")
        for outcome in (
            "ok",
            "nothing",
            "slot_taken",
            "invalid_transition",
            "package_used_up",
            "same_time",
        )
    }, counts
    assert counts.get("hold:ok", 0) > 20, counts
    assert counts.get("hold:slot_taken", 0) > 20, counts
    assert counts.get("cancel:ok", 0) > 10, counts
    assert counts.get("reschedule:ok", 0) > 10, counts
    assert _overlapping_live_pairs() == 0
    assert (
        Booking.objects.filter(status=BookingStatus.RESCHEDULED).count() == counts["reschedule:ok"]
    )
