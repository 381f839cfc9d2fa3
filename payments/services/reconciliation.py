"""Nightly reconciliation: our Payment, Refund, Dispute, Transfer and Payout rows against
Stripe's balance transactions, for the platform and every connected account.

A run takes the balance transactions Stripe created since the last finished run (``created``
in ``[window_start, window_end)``, each with its ``source`` expanded) and gives each one to
the row of ours that caused it, by the Stripe ids we keep:

the charge and its application fee and transfer to the Payment, a refund (and its
failure) to the Refund, a transfer reversal to the Refund, lost Dispute or separate Transfer
that made it, a dispute's withdrawal and reinstatement to the Dispute, a package share or a
staff payout to its Transfer, a payout to the Payout; on a connected account its payment
(by ``source_transfer``) and its payment refund (by ``source_transfer_reversal``) likewise;
fee refunds per payment, against the fee refunds of that payment's refunds and reversals in
the same run. The table,
with the amounts compared, is in docs/money.md ("Reconciliation").

A transaction no row of ours explains is ``unknown_to_us``; one whose amount differs from
ours is ``amount_mismatch``; a row of ours recorded in the window whose Stripe object has no
balance transaction at all is ``missing_at_stripe``. Stripe's own processing and dispute
fees are not mirrored in our rows and are not compared. Discrepancies are stored, shown in
admin and sent to staff as one alert; a run with none is recorded ``clean``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from payments import gateway
from payments.models import (
    ConnectedAccount,
    Dispute,
    Payment,
    Payout,
    ReconciliationDiscrepancy,
    ReconciliationRun,
    Refund,
    RefundStatus,
    StaffAlert,
    Transfer,
    TransferStatus,
)
from payments.services.alerts import staff_alert_raise

logger = logging.getLogger("payments.reconciliation")

# Balance transactions younger than this are left to the next run: the rows that record them
# are written just after Stripe answers.
SETTLING_MARGIN = timedelta(minutes=10)

Kind = ReconciliationDiscrepancy.Kind


@dataclass
class _Line:
    """What Stripe moved for one of our rows (possibly several transactions) and what our
    row says it should be."""

    account: str
    type: str
    currency: str
    source_id: str
    our_row: str
    expected: int | None
    stripe: int = 0
    expected_fee: int | None = None
    stripe_fee: int = 0
    transaction_ids: list[str] = field(default_factory=list)


@dataclass
class _Rows:
    """Our rows named by the Stripe ids in a run, loaded in a few queries."""

    payments_by_charge: dict[str, Payment]
    payments_by_fee: dict[str, Payment]
    payments_by_transfer: dict[str, Payment]
    transfers: dict[str, Transfer]
    refunds: dict[str, Refund]
    refunds_by_reversal: dict[str, Refund]
    disputes: dict[str, Dispute]
    disputes_by_reversal: dict[str, Dispute]
    payouts: dict[str, Payout]


def _load_rows(ids: set[str]) -> _Rows:
    payments = list(
        Payment.objects.filter(stripe_charge_id__in=ids)
        | Payment.objects.filter(stripe_application_fee_id__in=ids)
        | Payment.objects.filter(stripe_transfer_id__in=ids)
    )
    refunds = list(
        Refund.objects.filter(stripe_refund_id__in=ids)
        | Refund.objects.filter(stripe_transfer_reversal_id__in=ids)
    )
    disputes = list(
        Dispute.objects.filter(stripe_dispute_id__in=ids)
        | Dispute.objects.filter(stripe_transfer_reversal_id__in=ids)
    )
    return _Rows(
        payments_by_charge={p.stripe_charge_id: p for p in payments if p.stripe_charge_id},
        payments_by_fee={
            p.stripe_application_fee_id: p for p in payments if p.stripe_application_fee_id
        },
        payments_by_transfer={p.stripe_transfer_id: p for p in payments if p.stripe_transfer_id},
        transfers={
            t.stripe_transfer_id: t
            for t in Transfer.objects.filter(stripe_transfer_id__in=ids)
            if t.stripe_transfer_id
        },
        refunds={r.stripe_refund_id: r for r in refunds if r.stripe_refund_id},
        refunds_by_reversal={
            r.stripe_transfer_reversal_id: r for r in refunds if r.stripe_transfer_reversal_id
        },
        disputes={d.stripe_dispute_id: d for d in disputes},
        disputes_by_reversal={
            d.stripe_transfer_reversal_id: d for d in disputes if d.stripe_transfer_reversal_id
        },
        payouts={p.stripe_payout_id: p for p in Payout.objects.filter(stripe_payout_id__in=ids)},
    )


def _transfer_row(transfer: Transfer) -> str:
    """How a discrepancy names a separate transfer: a package share's row, or the staff
    payout request it carries."""
    if transfer.payout_request_id:
        return f"payout request {transfer.payout_request_id} (transfer {transfer.pk})"
    return f"transfer {transfer.pk}"


def _ids_in(lines: list[gateway.LedgerLine]) -> set[str]:
    ids: set[str] = set()
    for line in lines:
        ids.add(line.source_id)
        ids.update(line.links.values())
    return ids


def compare(
    platform: list[gateway.LedgerLine], accounts: dict[str, list[gateway.LedgerLine]]
) -> list[ReconciliationDiscrepancy]:
    """The discrepancies between these balance transactions and our rows (not saved)."""
    all_lines = [("", line) for line in platform] + [
        (account, line) for account, lines in accounts.items() for line in lines
    ]
    rows = _load_rows(_ids_in([line for _, line in all_lines]))
    grouped: dict[tuple[str, ...], _Line] = {}
    unknown: list[ReconciliationDiscrepancy] = []
    # Fee refunds are made with a refund or a dispute's reversal, at the same moment: what
    # our rows expect per payment is the sum of those whose own line is in this run.
    fee_refunds_expected: dict[int, int] = defaultdict(int)
    reversal_transfers: dict[str, str] = {}

    def add(
        key: tuple[str, ...], account: str, line: gateway.LedgerLine, **expected: object
    ) -> None:
        entry = grouped.get(key)
        if entry is None:
            entry = grouped[key] = _Line(
                account=account,
                type=line.type,
                currency=line.currency,
                source_id=line.source_id,
                our_row=str(expected.get("our_row", "")),
                expected=expected.get("amount"),  # type: ignore[arg-type]
                expected_fee=expected.get("fee"),  # type: ignore[arg-type]
            )
        entry.stripe += line.amount
        entry.stripe_fee += line.fee
        entry.transaction_ids.append(line.id)

    def reversal_owner(reversal_id: str) -> tuple[str, int] | None:
        refund = rows.refunds_by_reversal.get(reversal_id)
        if refund is not None:
            return f"refund {refund.pk}", refund.transfer_reversal_amount
        dispute = rows.disputes_by_reversal.get(reversal_id)
        if dispute is not None:
            return f"dispute {dispute.pk}", dispute.transfer_reversal_amount
        transfer = rows.transfers.get(reversal_transfers.get(reversal_id, ""))
        if transfer is not None:
            return _transfer_row(transfer), transfer.reversed_amount
        return None

    for line in platform:
        source = line.source_id
        if line.type == "transfer_refund" and line.links.get("transfer"):
            reversal_transfers[source] = line.links["transfer"]
        if line.type == "refund" and source in rows.refunds:
            refund = rows.refunds[source]
            fee_refunds_expected[refund.payment_id] += refund.application_fee_refund_amount
        if line.type == "transfer_refund" and source in rows.disputes_by_reversal:
            dispute = rows.disputes_by_reversal[source]
            fee_refunds_expected[dispute.payment_id] += dispute.application_fee_refund_amount

    for account, line in all_lines:
        source = line.source_id
        key: tuple[str, ...] | None = None
        expected: dict[str, object] = {}
        if line.type == "charge" and not account and source in rows.payments_by_charge:
            payment = rows.payments_by_charge[source]
            key, expected = ("charge", source), {"amount": payment.amount}
            expected["our_row"] = f"payment {payment.pk}"
        elif line.type == "application_fee" and not account and source in rows.payments_by_fee:
            payment = rows.payments_by_fee[source]
            key = ("application_fee", source)
            expected = {"amount": payment.application_fee, "our_row": f"payment {payment.pk}"}
        elif line.type == "transfer" and not account:
            if source in rows.payments_by_transfer:
                payment = rows.payments_by_transfer[source]
                key = ("transfer", source)
                expected = {"amount": -payment.amount, "our_row": f"payment {payment.pk}"}
            elif source in rows.transfers:
                transfer = rows.transfers[source]
                key = ("transfer", source)
                paid = transfer.status in (TransferStatus.PAID, TransferStatus.REVERSED)
                expected = {
                    "amount": -transfer.amount if paid else 0,
                    "our_row": _transfer_row(transfer),
                }
        elif line.type in ("refund", "refund_failure") and not account and source in rows.refunds:
            refund = rows.refunds[source]
            failed = refund.status in (RefundStatus.FAILED, RefundStatus.CANCELED)
            key = (line.type, source)
            amount = -refund.amount if line.type == "refund" else (refund.amount if failed else 0)
            expected = {"amount": amount, "our_row": f"refund {refund.pk}"}
        elif line.type in ("transfer_refund", "payment_refund"):
            reversal_id = (
                source
                if line.type == "transfer_refund"
                else line.links.get("source_transfer_reversal", "")
            )
            owner = reversal_owner(reversal_id)
            if owner is not None:
                sign = 1 if line.type == "transfer_refund" else -1
                key = (line.type, account, owner[0])
                expected = {"amount": sign * owner[1], "our_row": owner[0]}
        elif line.type == "application_fee_refund":
            fee_payment = rows.payments_by_fee.get(line.links.get("fee", ""))
            if fee_payment is not None:
                sign = 1 if account else -1
                key = ("application_fee_refund", account, str(fee_payment.pk))
                expected = {
                    "amount": sign * fee_refunds_expected.get(fee_payment.pk, 0),
                    "our_row": f"payment {fee_payment.pk}",
                }
        elif line.type == "adjustment" and not account and source in rows.disputes:
            dispute = rows.disputes[source]
            if line.reporting_category == "dispute_reversal":
                amount = dispute.amount if dispute.funds_reinstated else 0
            else:
                amount = -dispute.amount if dispute.funds_withdrawn else 0
            key = ("adjustment", source, line.reporting_category)
            expected = {"amount": amount, "our_row": f"dispute {dispute.pk}"}
        elif line.type == "payment" and account:
            transfer_id = line.links.get("source_transfer", "")
            if transfer_id in rows.payments_by_transfer:
                payment = rows.payments_by_transfer[transfer_id]
                key = ("payment", account, transfer_id)
                expected = {
                    "amount": payment.amount,
                    "fee": payment.application_fee,
                    "our_row": f"payment {payment.pk}",
                }
            elif transfer_id in rows.transfers:
                transfer = rows.transfers[transfer_id]
                key = ("payment", account, transfer_id)
                expected = {
                    "amount": transfer.amount,
                    "fee": 0,
                    "our_row": _transfer_row(transfer),
                }
        elif line.type in ("payout", "payout_failure") and source in rows.payouts:
            payout = rows.payouts[source]
            key = (line.type, account, source)
            if line.type == "payout":
                amount = -payout.amount
            else:
                amount = payout.amount if payout.status == "failed" else 0
            expected = {"amount": amount, "our_row": f"payout {payout.pk}"}
        if key is None:
            unknown.append(
                ReconciliationDiscrepancy(
                    kind=Kind.UNKNOWN_TO_US,
                    stripe_account_id=account,
                    balance_transaction_type=line.type,
                    source_id=source,
                    currency=line.currency,
                    stripe_amount=line.amount,
                    message=(
                        f"{account or 'Platform'}: {line.type} {line.id} of "
                        f"{line.amount} {line.currency} (source {source or '-'}) matches no "
                        "row of ours."
                    ),
                )
            )
            continue
        add(key, account, line, **expected)

    found = list(unknown)
    for entry in grouped.values():
        fee_differs = entry.expected_fee is not None and entry.expected_fee != entry.stripe_fee
        if entry.expected == entry.stripe and not fee_differs:
            continue
        detail = (
            f"fee {entry.stripe_fee} at Stripe, {entry.expected_fee} in our books"
            if entry.expected == entry.stripe
            else f"{entry.stripe} at Stripe, {entry.expected} in our books"
        )
        found.append(
            ReconciliationDiscrepancy(
                kind=Kind.AMOUNT_MISMATCH,
                stripe_account_id=entry.account,
                balance_transaction_type=entry.type,
                source_id=entry.source_id,
                currency=entry.currency,
                stripe_amount=entry.stripe,
                our_amount=entry.expected,
                our_row=entry.our_row,
                message=(
                    f"{entry.account or 'Platform'}: {entry.type} of "
                    f"{entry.our_row} ({', '.join(entry.transaction_ids)}): {detail}."
                ),
            )
        )
    return found


def _missing_at_stripe(
    *, start: datetime | None, end: datetime, seen: set[str]
) -> list[ReconciliationDiscrepancy]:
    """Rows of ours recorded in the window whose Stripe object made no balance transaction in
    it: each is looked up at Stripe by source (it may fall in another window)."""

    def in_window(field_name: str) -> dict[str, object]:
        window: dict[str, object] = {f"{field_name}__lt": end}
        if start is not None:
            window[f"{field_name}__gte"] = start
        return window

    candidates: list[tuple[str, str, int, str]] = []
    for payment in Payment.objects.filter(**in_window("succeeded_at")).exclude(
        stripe_charge_id=None
    ):
        candidates.append(
            (
                payment.stripe_charge_id or "",
                f"payment {payment.pk}",
                payment.amount,
                payment.currency,
            )
        )
    for refund in Refund.objects.filter(**in_window("created_at")).exclude(stripe_refund_id=None):
        candidates.append(
            (refund.stripe_refund_id or "", f"refund {refund.pk}", -refund.amount, refund.currency)
        )
    for transfer in Transfer.objects.filter(
        **in_window("paid_at"), status=TransferStatus.PAID
    ).exclude(stripe_transfer_id=None):
        candidates.append(
            (
                transfer.stripe_transfer_id or "",
                _transfer_row(transfer),
                -transfer.amount,
                transfer.currency,
            )
        )
    missing = []
    for stripe_id, our_row, amount, currency in candidates:
        if stripe_id in seen:
            continue
        if gateway.balance_transactions_for_source(stripe_id):
            continue
        missing.append(
            ReconciliationDiscrepancy(
                kind=Kind.MISSING_AT_STRIPE,
                source_id=stripe_id,
                currency=currency,
                our_amount=amount,
                our_row=our_row,
                message=f"{our_row} records {stripe_id}, which moved no money at Stripe.",
            )
        )
    return missing


def _timestamp(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def reconciliation_run(*, until: datetime | None = None) -> ReconciliationRun:
    """Reconcile the balance transactions created since the last finished run, up to
    ``until`` (default: now less a settling margin). Stores the run and its discrepancies and
    alerts staff when there are any; a Stripe failure ends the run ``failed`` (the next run
    covers the same window again)."""
    last = (
        ReconciliationRun.objects.filter(
            outcome__in=[ReconciliationRun.Outcome.CLEAN, ReconciliationRun.Outcome.DISCREPANCIES]
        )
        .order_by("-window_end")
        .first()
    )
    start = last.window_end if last is not None else None
    end = until or timezone.now() - SETTLING_MARGIN
    run = ReconciliationRun.objects.create(window_start=start, window_end=end)
    account_ids = [
        account_id
        for account_id in ConnectedAccount.objects.exclude(state="deauthorized")
        .order_by("pk")
        .values_list("stripe_account_id", flat=True)
        if account_id
    ]
    try:
        platform = gateway.balance_transactions_between(
            created_gte=_timestamp(start), created_lt=int(end.timestamp())
        )
        accounts = {
            account_id: gateway.balance_transactions_between(
                stripe_account_id=account_id,
                created_gte=_timestamp(start),
                created_lt=int(end.timestamp()),
            )
            for account_id in account_ids
        }
        found = compare(platform, accounts)
        seen = {line.source_id for line in platform}
        found += _missing_at_stripe(start=start, end=end, seen=seen)
    except gateway.GatewayError as error:
        logger.warning("reconciliation %s failed: %s", run.pk, error)
        ReconciliationRun.objects.filter(pk=run.pk).update(
            outcome=ReconciliationRun.Outcome.FAILED,
            error=str(error)[:4000],
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        return run
    with transaction.atomic():
        for discrepancy in found:
            discrepancy.run = run
        ReconciliationDiscrepancy.objects.bulk_create(found)
        run.outcome = (
            ReconciliationRun.Outcome.DISCREPANCIES if found else ReconciliationRun.Outcome.CLEAN
        )
        run.accounts_checked = 1 + len(account_ids)
        run.transactions_checked = len(platform) + sum(len(lines) for lines in accounts.values())
        run.discrepancy_count = len(found)
        run.finished_at = timezone.now()
        run.save()
        if found:
            staff_alert_raise(
                kind=StaffAlert.Kind.RECONCILIATION,
                message=(
                    f"Reconciliation {run.pk} found {len(found)} discrepancies between our "
                    f"money rows and Stripe's balance transactions: "
                    + "; ".join(d.message for d in found[:5])
                    + (" ..." if len(found) > 5 else "")
                ),
            )
    return run
