"""Money figures read from our own rows, for the coach's insights, the client's dashboard
and the staff operations page. Nothing here calls Stripe: the rows are what Stripe told us
(webhooks, polls, the nightly reconciliation checks them against its ledger).

Amounts are integer minor units per lowercase currency code. Months are calendar months in
the zone the caller names (the viewer's), bucketed by PostgreSQL (``AT TIME ZONE``), so a
payment at 23:30 UTC on 31 March is April's in London in summer time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, DateField, Q, Sum
from django.db.models.functions import TruncMonth

from payments.models import (
    AccountState,
    ConnectedAccount,
    Dispute,
    DisputeStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    RefundStatus,
    Transfer,
    TransferKind,
    TransferStatus,
)

# A payment whose money was taken from the client (whatever happened after).
PAID_STATUSES = (
    PaymentStatus.SUCCEEDED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
    PaymentStatus.DISPUTED,
)
# A refund Stripe holds (pending or made): its amount went back to the client.
REFUNDED_STATUSES = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


@dataclass
class MoneyMonth:
    """One currency's money of one coach in one month.

    ``gross``: what clients paid (payments that succeeded that month). ``fees``: the
    platform's application fees on them. ``refunded``: what went back to clients (refunds
    made that month, pending or succeeded), ``refunds`` their number. ``net``: what reached
    the coach: their share of destination charges, plus package shares transferred, less
    what refunds and lost disputes took back from them (the transfer reversals) plus the
    platform fees given back with those refunds.
    """

    gross: int = 0
    fees: int = 0
    payments: int = 0
    refunded: int = 0
    refunds: int = 0
    net: int = 0

    def add(self, other: MoneyMonth) -> None:
        self.gross += other.gross
        self.fees += other.fees
        self.payments += other.payments
        self.refunded += other.refunded
        self.refunds += other.refunds
        self.net += other.net


def coach_money_by_month(
    *, coach_user_id: int, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[tuple[str, date], MoneyMonth]:
    """``{(currency, first day of the month): MoneyMonth}`` of the coach's money in
    ``[start, end)``, in four queries whatever the history (one per kind of row)."""
    months: dict[tuple[str, date], MoneyMonth] = defaultdict(MoneyMonth)
    destination = Q(kind=PaymentKind.BOOKING) | ~Q(on_behalf_of="")
    payments = (
        Payment.objects.filter(
            coach_id=coach_user_id,
            status__in=PAID_STATUSES,
            succeeded_at__gte=start,
            succeeded_at__lt=end,
        )
        .annotate(month=TruncMonth("succeeded_at", tzinfo=zone, output_field=DateField()))
        .values("currency", "month")
        .annotate(
            gross=Sum("amount"),
            fees=Sum("application_fee"),
            count=Count("pk"),
            coach_share=Sum("coach_amount", filter=destination),
        )
    )
    for row in payments:
        month = months[(row["currency"], row["month"])]
        month.gross += row["gross"] or 0
        month.fees += row["fees"] or 0
        month.payments += row["count"]
        month.net += row["coach_share"] or 0
    refunds = (
        Refund.objects.filter(
            payment__coach_id=coach_user_id,
            stripe_refund_id__isnull=False,
            status__in=REFUNDED_STATUSES,
            created_at__gte=start,
            created_at__lt=end,
        )
        .annotate(month=TruncMonth("created_at", tzinfo=zone, output_field=DateField()))
        .values("currency", "month")
        .annotate(
            refunded=Sum("amount"),
            count=Count("pk"),
            reversed=Sum("transfer_reversal_amount"),
            fee_back=Sum("application_fee_refund_amount"),
        )
    )
    for row in refunds:
        month = months[(row["currency"], row["month"])]
        month.refunded += row["refunded"] or 0
        month.refunds += row["count"]
        month.net -= (row["reversed"] or 0) - (row["fee_back"] or 0)
    accounts = ConnectedAccount.objects.filter(coach_id=coach_user_id).exclude(
        stripe_account_id=None
    )
    transfers = (
        Transfer.objects.filter(
            # Package shares are session revenue; a staff payout (a bonus) is not.
            kind=TransferKind.PACKAGE_SHARE,
            destination_account_id__in=accounts.values("stripe_account_id"),
            status__in=[TransferStatus.PAID, TransferStatus.REVERSED],
            paid_at__gte=start,
            paid_at__lt=end,
        )
        .annotate(month=TruncMonth("paid_at", tzinfo=zone, output_field=DateField()))
        .values("currency", "month")
        .annotate(amount=Sum("amount"))
    )
    for row in transfers:
        months[(row["currency"], row["month"])].net += row["amount"] or 0
    disputes = (
        Dispute.objects.filter(
            payment__coach_id=coach_user_id,
            status=DisputeStatus.LOST,
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .annotate(month=TruncMonth("closed_at", tzinfo=zone, output_field=DateField()))
        .values("currency", "month")
        .annotate(
            reversed=Sum("transfer_reversal_amount"),
            fee_back=Sum("application_fee_refund_amount"),
        )
    )
    for row in disputes:
        months[(row["currency"], row["month"])].net -= (row["reversed"] or 0) - (
            row["fee_back"] or 0
        )
    return dict(months)


@dataclass(frozen=True)
class Spending:
    currency: str
    paid: int
    refunded: int

    @property
    def net(self) -> int:
        return self.paid - self.refunded


def client_spending(*, client_id: int) -> list[Spending]:
    """What the client paid and got back, per currency, largest first (one query)."""
    rows = (
        Payment.objects.filter(client_id=client_id, status__in=PAID_STATUSES)
        .values("currency")
        .annotate(paid=Sum("amount"), refunded=Sum("refunded_amount"))
        .order_by("-paid", "currency")
    )
    return [
        Spending(currency=row["currency"], paid=row["paid"] or 0, refunded=row["refunded"] or 0)
        for row in rows
    ]


def accounts_that_cannot_be_paid() -> list[ConnectedAccount]:
    """Connected accounts restricted by Stripe or deauthorized by their holder, with the
    holder (the operations page asks which of them still have sessions ahead)."""
    return list(
        ConnectedAccount.objects.select_related("coach").filter(
            state__in=[AccountState.RESTRICTED, AccountState.DEAUTHORIZED]
        )
    )
