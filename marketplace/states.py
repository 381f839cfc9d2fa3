"""The one way a status changes: ``transition``.

Every status field of the product (a booking, a payment, a refund, a transfer, a package
purchase, a dispute, a payout, a webhook event, a connected account, a coach application, a
message report) declares its state machine here with ``register``: the field, the table of
allowed moves and how a move is recorded. ``transition`` then does, for every one of them:

1. lock the row (``SELECT ... FOR UPDATE``) and re-read the field, so a stale instance never
   decides;
2. return ``False`` when the row is already in the target state (a duplicate webhook, a
   double click, a retried task): the work was done;
3. refuse a move that is not in the table with ``InvalidTransition`` (a domain error, 409);
4. write the new state and any other fields given, and record the change: who (``by``), what
   moved it (``source``), why (``note``), when.

Must be called inside ``transaction.atomic()``. Locks follow the lock order of
``docs/architecture.md``: the caller takes the upper rows (coach, booking, ...) first.
A bare assignment of a status field anywhere else is refused by
``tests/marketplace/test_transitions.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from marketplace.errors import InvalidTransition
from marketplace.models import StatusChange


@dataclass(frozen=True)
class Change:
    """One move of one status field, as handed to a machine's ``record``."""

    instance: models.Model
    field: str
    from_state: str
    to_state: str
    by: Any
    source: str
    note: str
    reference: str
    at: Any


def _record_generic(change: Change) -> None:
    StatusChange.objects.create(
        model=change.instance._meta.label_lower,
        object_id=change.instance.pk,
        field=change.field,
        from_state=change.from_state,
        to_state=change.to_state,
        actor=change.by,
        source=change.source[:40],
        note=change.note or change.reference,
        changed_at=change.at,
    )


@dataclass(frozen=True)
class StateMachine:
    field: str
    transitions: Mapping[str, frozenset[str]]
    # Writes the change row; the default is ``marketplace.StatusChange``. Models that keep a
    # history of their own (a booking's ``BookingStatusChange``) pass a function writing it.
    record: Callable[[Change], None] = _record_generic
    # Model fields stamped with the time of every move (``updated_at``, ``state_changed_at``).
    stamp_fields: tuple[str, ...] = ()

    def allows(self, from_state: str, to_state: str) -> bool:
        return to_state in self.transitions.get(from_state, frozenset())


MACHINES: dict[type[models.Model], StateMachine] = {}


def register(
    model: type[models.Model],
    *,
    field: str = "status",
    transitions: Mapping[str, frozenset[str]],
    record: Callable[[Change], None] | None = None,
) -> StateMachine:
    """Declare ``model.<field>``'s machine (once, at the bottom of the model's module)."""
    stamps = tuple(
        name
        for name in ("updated_at", f"{field}_changed_at")
        if any(f.name == name for f in model._meta.concrete_fields)
    )
    machine = StateMachine(
        field=field,
        transitions=transitions,
        record=record or _record_generic,
        stamp_fields=stamps,
    )
    MACHINES[model] = machine
    return machine


def machine_for(model: type[models.Model]) -> StateMachine:
    try:
        return MACHINES[model]
    except KeyError:
        raise LookupError(f"{model._meta.label} has no registered state machine") from None


def _label(model: type[models.Model], field: str, state: str) -> str:
    choices = dict(getattr(model._meta.get_field(field), "choices", None) or ())
    return str(choices.get(state, state)).lower()


def transition(
    instance: models.Model,
    to_state: str,
    *,
    by: Any = None,
    source: str = "",
    note: str = "",
    reference: str = "",
    changes: Mapping[str, Any] | None = None,
    locked: bool = False,
) -> bool:
    """Move ``instance`` to ``to_state``; True when it moved, False when it already was there.

    ``reference`` is an outside id the move came from (the Stripe event that caused it).
    ``changes`` are other fields written in the same UPDATE (``{"paid_at": now}``); they are
    written only when the state moves. ``locked=True`` says the caller read ``instance`` with
    ``select_for_update`` in this transaction, so the row is not read a second time.
    Raises ``InvalidTransition`` for a move not in the model's table.
    """
    model = type(instance)
    machine = machine_for(model)
    field = machine.field
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() must run inside transaction.atomic()")
    if not locked:
        current = (
            model._default_manager.select_for_update(of=("self",))
            .filter(pk=instance.pk)
            .values_list(field, flat=True)
            .get()
        )
        setattr(instance, field, current)
    from_state = str(getattr(instance, field))
    to_state = str(to_state)
    if from_state == to_state:
        return False
    if not machine.allows(from_state, to_state):
        raise InvalidTransition(
            f"A {_label(model, field, from_state)} {model._meta.verbose_name} cannot become "
            f"{_label(model, field, to_state)}."
        )
    now = timezone.now()
    values: dict[str, Any] = {field: to_state, **(changes or {})}
    for stamp in machine.stamp_fields:
        values.setdefault(stamp, now)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.save(update_fields=list(values))
    machine.record(
        Change(
            instance=instance,
            field=field,
            from_state=from_state,
            to_state=to_state,
            by=by,
            source=source,
            note=note,
            reference=reference,
            at=now,
        )
    )
    return True
