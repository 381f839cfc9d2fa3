"""One way to change state: every status field has a machine, and only the transition helper
assigns one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.db import transaction

from marketplace import states
from marketplace.errors import InvalidTransition
from marketplace.models import StatusChange
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ["marketplace", "coaches", "bookings", "payments", "messaging"]
# The local Stripe mirrors Stripe's own objects (a stand-in for Stripe's servers), not the
# product's state; its rows move as Stripe's would.
NOT_PRODUCT_STATE = {"payments.sandbox"}
STATUS_FIELDS = {"status", "state"}


def _product_models():
    for model in apps.get_models():
        module = model.__module__
        if module.split(".")[0] in APPS and not any(
            module.startswith(prefix) for prefix in NOT_PRODUCT_STATE
        ):
            yield model


def test_every_status_field_has_a_state_machine():
    missing = []
    for model in _product_models():
        for field in model._meta.concrete_fields:
            if field.name in STATUS_FIELDS:
                machine = states.MACHINES.get(model)
                if machine is None or machine.field != field.name:
                    missing.append(f"{model._meta.label}.{field.name}")
    assert missing == []
    # and every machine's table names only the field's choices
    for model, machine in states.MACHINES.items():
        choices = {str(value) for value, _ in model._meta.get_field(machine.field).choices}
        for from_state, targets in machine.transitions.items():
            assert from_state in choices | {""}, (model, from_state)
            assert {str(target) for target in targets} <= choices, (model, targets)


def _source_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative == "marketplace/states.py":
                continue
            if any(relative.startswith(prefix.replace(".", "/")) for prefix in NOT_PRODUCT_STATE):
                continue
            yield path, relative


def _bare_assignments(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in STATUS_FIELDS:
                lines.append(node.lineno)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "setattr" and len(node.args) >= 2:
                key = node.args[1]
                if isinstance(key, ast.Constant) and key.value in STATUS_FIELDS:
                    lines.append(node.lineno)
            if name in {"update", "bulk_update"}:
                if any(keyword.arg in STATUS_FIELDS for keyword in node.keywords):
                    lines.append(node.lineno)
                for argument in node.args:
                    if isinstance(argument, ast.List | ast.Tuple) and any(
                        isinstance(item, ast.Constant) and item.value in STATUS_FIELDS
                        for item in argument.elts
                    ):
                        lines.append(node.lineno)
    return sorted(lines)


def test_no_status_is_assigned_outside_the_transition_helper():
    found = []
    for path, relative in _source_files():
        for line in _bare_assignments(ast.parse(path.read_text(), filename=relative)):
            found.append(f"{relative}:{line}")
    assert found == []


def test_the_source_walk_catches_each_kind_of_bare_assignment():
    code = """
payment.status = "refunded"
setattr(refund, "status", "failed")
Booking.objects.filter(pk=1).update(status="confirmed")
account.state += ""
Transfer.objects.bulk_update(rows, ["status"])
context["status"] = "shown"
"""
    assert _bare_assignments(ast.parse(code)) == [2, 3, 4, 5, 6]


def _payment(**fields) -> Payment:
    client, coach = UserFactory(), UserFactory()
    return Payment.objects.create(
        kind="booking",
        client=client,
        coach=coach,
        amount=1000,
        application_fee=150,
        coach_amount=850,
        currency="usd",
        **fields,
    )


@pytest.mark.django_db
def test_a_move_is_written_with_who_why_and_when():
    payment = _payment()
    staff = UserFactory(is_staff=True)
    with transaction.atomic():
        moved = states.transition(
            payment, PaymentStatus.SUCCEEDED, by=staff, source="stripe", note="paid on Checkout"
        )
    assert moved is True
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    change = StatusChange.objects.get(model="payments.payment", object_id=payment.pk)
    assert (change.from_state, change.to_state) == ("pending", "succeeded")
    assert (change.actor, change.source, change.note) == (staff, "stripe", "paid on Checkout")
    assert change.changed_at is not None


@pytest.mark.django_db
def test_a_stale_instance_is_re_read_under_the_lock_and_a_repeat_is_a_no_op():
    payment = _payment()
    stale = Payment.objects.get(pk=payment.pk)
    with transaction.atomic():
        states.transition(payment, PaymentStatus.SUCCEEDED, source="stripe")
    # given: a second worker still holds the old, pending copy
    assert stale.status == PaymentStatus.PENDING
    with transaction.atomic():
        moved = states.transition(stale, PaymentStatus.SUCCEEDED, source="stripe")
    # then: it sees the row as it is now and does nothing twice
    assert moved is False
    assert stale.status == PaymentStatus.SUCCEEDED
    assert StatusChange.objects.filter(object_id=payment.pk, model="payments.payment").count() == 1


@pytest.mark.django_db
def test_a_move_not_in_the_table_is_refused_with_a_domain_error():
    payment = _payment()
    refund = Refund.objects.create(payment=payment, amount=100, currency="usd", reason="staff")
    with transaction.atomic():
        states.transition(refund, RefundStatus.FAILED, source="stripe")
    with pytest.raises(InvalidTransition) as refused, transaction.atomic():
        states.transition(refund, RefundStatus.SUCCEEDED, source="stripe")
    assert refused.value.status_code == 409
    assert "failed refund cannot become succeeded" in refused.value.message
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_move_outside_a_transaction_is_a_programming_error():
    payment = _payment()
    with pytest.raises(RuntimeError):
        states.transition(payment, PaymentStatus.SUCCEEDED, source="stripe")


@pytest.mark.django_db
def test_staff_read_every_move_in_the_admin(client):
    from tests.mfa import sign_in_with_totp

    payment = _payment()
    with transaction.atomic():
        states.transition(payment, PaymentStatus.SUCCEEDED, source="stripe", note="paid")
    staff = UserFactory(is_staff=True, is_superuser=True)
    sign_in_with_totp(client, staff)
    listed = client.get("/admin/marketplace/statuschange/?model=payments.payment")
    assert listed.status_code == 200
    assert "payments.payment" in listed.content.decode()
    change = StatusChange.objects.get(object_id=payment.pk, model="payments.payment")
    page = client.get(f"/admin/marketplace/statuschange/{change.pk}/change/")
    assert page.status_code == 200 and "paid" in page.content.decode()
