"""Payments admin: connected accounts (funnel, refresh), staff alerts (badge), the webhook inbox."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import lazy
from django.utils.html import format_html

from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.money import decimals, format_money, to_major, to_minor
from payments import selectors
from payments.errors import PaymentProviderError
from payments.models import (
    AccountStateChange,
    ConnectedAccount,
    Dispute,
    Payment,
    Payout,
    ReconciliationDiscrepancy,
    ReconciliationRun,
    Refund,
    StaffAlert,
    Transfer,
    TransferStatus,
    WebhookEvent,
)
from payments.services import accounts, alerts, refunds, transfers, webhooks
from payments.states import requirement_labels


def _alerts_label() -> str:
    try:
        count = selectors.open_staff_alert_count()
    except Exception:
        return "Staff alerts"
    return f"Staff alerts ({count} open)" if count else "Staff alerts"


# The badge: the admin index and sidebar show "Staff alerts (N open)". Runtime-only, so it
# never touches migrations (the autodetector reads Meta, not this attribute).
StaffAlert._meta.verbose_name_plural = lazy(_alerts_label, str)()


class AccountStateChangeInline(admin.TabularInline):
    model = AccountStateChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "from_state", "to_state", "source", "stripe_event_id")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    change_list_template = "payments/admin/connectedaccount_change_list.html"
    list_display = (
        "coach",
        "stripe_account_id",
        "state",
        "charges_enabled",
        "payouts_enabled",
        "requirements_summary",
        "current_deadline",
        "last_checked_at",
        "next_check_due_at",
    )
    list_filter = ("state", "charges_enabled", "payouts_enabled", "details_submitted", "country")
    search_fields = ("coach__email", "stripe_account_id")
    list_select_related = ("coach",)
    actions = ["refresh_from_stripe"]
    inlines = [AccountStateChangeInline]
    readonly_fields = (
        "coach",
        "stripe_account_id",
        "state",
        "state_changed_at",
        "activated_at",
        "deauthorized_at",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "requirements_in_words",
        "requirements_currently_due",
        "requirements_eventually_due",
        "requirements_past_due",
        "requirements_pending_verification",
        "requirements_errors",
        "disabled_reason",
        "current_deadline",
        "capabilities",
        "country",
        "default_currency",
        "email",
        "business_url",
        "business_product_description",
        "payout_interval",
        "payout_weekly_anchor",
        "payout_monthly_anchor",
        "payout_minimum_amount",
        "last_checked_at",
        "next_check_due_at",
        "check_failures",
        "created_at",
    )
    exclude = ("account_type", "payout_delay_days")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Requirements due")
    def requirements_summary(self, account: ConnectedAccount) -> str:
        due = account.requirements_due
        if not due:
            return "—"
        return f"{len(due)}: {', '.join(due[:3])}{'…' if len(due) > 3 else ''}"

    @admin.display(description="Due now, in words")
    def requirements_in_words(self, account: ConnectedAccount) -> str:
        return "; ".join(requirement_labels(account.requirements_due)) or "—"

    @admin.action(description="Refresh from Stripe")
    def refresh_from_stripe(self, request: HttpRequest, queryset: QuerySet) -> None:
        refreshed, failed = 0, []
        for account in queryset.exclude(stripe_account_id=None):
            try:
                accounts.connected_account_refresh(
                    account=account, source=AccountStateChange.Source.ADMIN
                )
                refreshed += 1
            except PaymentProviderError as error:
                failed.append(f"{account.stripe_account_id}: {error.message}")
        self.message_user(request, f"Refreshed {refreshed} account(s) from Stripe.")
        if failed:
            self.message_user(request, "Failed: " + "; ".join(failed), level=messages.ERROR)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "funnel": selectors.onboarding_funnel(),
            "open_alerts": selectors.open_staff_alert_count(),
        }
        return super().changelist_view(request, extra_context=extra_context)


class OpenFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open"), ("no", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(StaffAlert)
class StaffAlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "account", "message", "resolved_at")
    list_filter = (OpenFilter, "kind")
    search_fields = ("message", "account__coach__email", "account__stripe_account_id")
    readonly_fields = ("kind", "account", "message", "created_at", "resolved_at", "resolved_by")
    actions = ["resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark resolved")
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        for alert in queryset.filter(resolved_at__isnull=True):
            alerts.staff_alert_resolve(alert=alert, by=request.user)  # type: ignore[arg-type]
        self.message_user(request, "Resolved.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "type",
        "endpoint",
        "status_shown",
        "attempts",
        "stripe_account_id",
        "short_error",
        "stripe_event_id",
    )
    list_filter = ("status", "ignored_reason", "endpoint", "type")
    search_fields = ("stripe_event_id", "object_id", "stripe_account_id", "type")
    readonly_fields = [
        "status_shown" if field.name == "status" else field.name
        for field in WebhookEvent._meta.fields
    ]
    actions = ["replay"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Error")
    def short_error(self, event: WebhookEvent) -> str:
        return event.last_error[:80]

    @admin.display(description="Status", ordering="status")
    def status_shown(self, event: WebhookEvent) -> str:
        return event.status_label()

    @admin.action(description="Replay (process again from Stripe's data)")
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for event in queryset:
            webhooks.webhook_event_replay(event=event)
            count += 1
        self.message_user(request, f"Queued {count} event(s) for processing.")


def _money(amount: int | None, currency: str) -> str:
    return format_money(amount, currency) if amount is not None and currency else "—"


def _payment_link(payment_id: int | None) -> str:
    if payment_id is None:
        return "—"
    url = reverse("admin:payments_payment_change", args=[payment_id])
    return format_html('<a href="{}">Payment {}</a>', url, payment_id)


class MoneyRowAdmin(admin.ModelAdmin):
    """A money row is written by payments' services from what Stripe did: staff read it,
    and act on it only through actions that call those services; never added, edited or
    deleted by hand. Amounts in minor units (``money_fields``) are shown with their
    currency ("€95.00", not "9500")."""

    money_fields: tuple[str, ...] = ()

    def __init__(self, model, admin_site) -> None:
        super().__init__(model, admin_site)
        for name in self.money_fields:
            setattr(self, f"{name}_shown", self._money_display(name))

    def _money_display(self, name: str):
        field = self.model._meta.get_field(name)

        @admin.display(description=str(field.verbose_name), ordering=name)
        def shown(row) -> str:
            return _money(getattr(row, name), row.currency)

        return shown

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:  # type: ignore[override]
        return [
            f"{field.name}_shown" if field.name in self.money_fields else field.name
            for field in self.model._meta.fields
            if field.name != "id"
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return list(self.get_fields(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Read-only: no Save buttons."""
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Payout)
class PayoutAdmin(MoneyRowAdmin):
    list_display = ("stripe_payout_id", "account", "amount_shown", "status", "arrival_date")
    list_filter = ("status", "currency")
    search_fields = ("stripe_payout_id", "account__coach__email")
    money_fields = ("amount",)


# --- money: payments, refunds, disputes, transfers --------------------------------------


REFUND_FIELDS = (
    "amount_shown",
    "reason",
    "status",
    "failure_reason",
    "reversed_from_coach",
    "fee_refunded",
    "stripe_refund_id",
    "created_at",
)


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = REFUND_FIELDS
    readonly_fields = REFUND_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="amount")
    def amount_shown(self, refund: Refund) -> str:
        return _money(refund.amount, refund.currency)

    @admin.display(description="reversed from the coach")
    def reversed_from_coach(self, refund: Refund) -> str:
        return _money(refund.transfer_reversal_amount, refund.currency)

    @admin.display(description="platform fee refunded")
    def fee_refunded(self, refund: Refund) -> str:
        return _money(refund.application_fee_refund_amount, refund.currency)


class StaffRefundForm(forms.Form):
    """A staff refund of one payment: how much (in the payment's currency) and why."""

    amount = forms.DecimalField(label="Amount", min_value=Decimal("0"), max_digits=12)
    reason = forms.ChoiceField(label="Reason", choices=Refund.Reason.choices)

    def __init__(self, *args, payment: Payment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        amount = cast(forms.DecimalField, self.fields["amount"])
        amount.decimal_places = decimals(payment.currency)
        amount.initial = to_major(payment.refundable_amount, payment.currency)
        amount.help_text = (
            f"In {payment.currency.upper()}; at most "
            f"{format_money(payment.refundable_amount, payment.currency)} is left to refund."
        )
        self.fields["reason"].initial = Refund.Reason.STAFF

    def clean_amount(self) -> int:
        minor = to_minor(self.cleaned_data["amount"], self.payment.currency)
        if not 0 < minor <= self.payment.refundable_amount:
            raise forms.ValidationError(
                f"Between {format_money(1, self.payment.currency)} and "
                f"{format_money(self.payment.refundable_amount, self.payment.currency)}."
            )
        return minor


@admin.register(Payment)
class PaymentAdmin(MoneyRowAdmin):
    list_display = ["id", "kind", "client", "coach", "total", "fee", "status", "created_at"]
    list_filter = ["status", "kind", "currency"]
    search_fields = [
        "client__email",
        "coach__email",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "stripe_checkout_session_id",
    ]
    money_fields = ("amount", "application_fee", "coach_amount", "refunded_amount")
    inlines = [RefundInline]
    actions = ["refund"]

    @admin.display(description="Total", ordering="amount")
    def total(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)

    @admin.display(description="Platform fee", ordering="application_fee")
    def fee(self, payment: Payment) -> str:
        return format_money(payment.application_fee, payment.currency)

    @admin.action(description="Refund…")
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]):
        """A staff refund of one payment: the amount and the reason first, then
        ``refunds.refund_by_staff`` (the fee comes back in proportion, the coach's transfer
        is reversed, Stripe is called after commit)."""
        if queryset.count() != 1:
            self.message_user(request, "Choose one payment to refund.", messages.ERROR)
            return None
        payment = queryset.get()
        form = StaffRefundForm(request.POST if "amount" in request.POST else None, payment=payment)
        if form.is_valid():
            try:
                refund = refunds.refund_by_staff(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    by=cast(User, request.user),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Refund of {format_money(refund.amount, refund.currency)} sent to Stripe "
                    f"for payment {payment.pk}.",
                    messages.SUCCESS,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund payment {payment.pk}",
            "payment": payment,
            "total": format_money(payment.amount, payment.currency),
            "refunded": format_money(payment.refunded_amount, payment.currency),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "payments/admin/refund.html", context)

    def get_urls(self):
        return [
            path("ledger/", self.admin_site.admin_view(self.ledger_view), name="payments_ledger"),
            *super().get_urls(),
        ]

    def ledger_view(self, request: HttpRequest) -> TemplateResponse:
        """Per currency: charged, platform fees, refunded, reversed from coaches, fee
        refunds, disputed, package transfers, and the platform's net."""
        rows = [
            {
                "currency": currency.upper(),
                **{key: format_money(value, currency) for key, value in figures.items()},
            }
            for currency, figures in selectors.money_ledger().items()
        ]
        context = {**self.admin_site.each_context(request), "title": "Money ledger", "rows": rows}
        return TemplateResponse(request, "payments/admin/ledger.html", context)


@admin.register(Refund)
class RefundAdmin(MoneyRowAdmin):
    list_display = ["id", "payment_link", "amount_shown", "reason", "status", "created_at"]
    list_filter = ["status", "reason"]
    money_fields = ("amount", "transfer_reversal_amount", "application_fee_refund_amount")

    @admin.display(description="payment")
    def payment_link(self, refund: Refund) -> str:
        return _payment_link(refund.payment_id)


@admin.register(Dispute)
class DisputeAdmin(MoneyRowAdmin):
    list_display = [
        "stripe_dispute_id",
        "payment_link",
        "amount_shown",
        "reason",
        "status",
        "evidence_due_by",
        "transfer_reversal_amount_shown",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["stripe_dispute_id"]
    money_fields = ("amount", "transfer_reversal_amount", "application_fee_refund_amount")

    @admin.display(description="payment")
    def payment_link(self, dispute: Dispute) -> str:
        return _payment_link(dispute.payment_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ReconciliationDiscrepancyInline(admin.TabularInline):
    model = ReconciliationDiscrepancy
    extra = 0
    can_delete = False
    fields = (
        "kind",
        "stripe_account_id",
        "balance_transaction_type",
        "source_id",
        "currency",
        "stripe_amount",
        "our_amount",
        "our_row",
        "message",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    """Every nightly run (read-only): its window, what it checked, and what disagreed."""

    list_display = [
        "id",
        "started_at",
        "window_start",
        "window_end",
        "outcome",
        "accounts_checked",
        "transactions_checked",
        "discrepancy_count",
    ]
    list_filter = ["outcome"]
    readonly_fields = [field.name for field in ReconciliationRun._meta.fields]
    inlines = [ReconciliationDiscrepancyInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ReconciliationDiscrepancy)
class ReconciliationDiscrepancyAdmin(admin.ModelAdmin):
    list_display = [
        "run",
        "kind",
        "stripe_account_id",
        "balance_transaction_type",
        "source_id",
        "stripe_amount",
        "our_amount",
        "our_row",
    ]
    list_filter = ["kind", "balance_transaction_type"]
    search_fields = ["source_id", "stripe_account_id", "our_row"]
    readonly_fields = [field.name for field in ReconciliationDiscrepancy._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Transfer)
class TransferAdmin(MoneyRowAdmin):
    list_display = [
        "id",
        "package_purchase",
        "sequence",
        "amount_shown",
        "status",
        "attempts",
        "failure_code",
    ]
    list_filter = ["status", "failure_code"]
    money_fields = ("amount", "reversed_amount")
    actions = ["send_again"]

    @admin.action(description="Send again (a failed transfer whose cause was fixed)")
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for transfer in queryset.filter(status=TransferStatus.FAILED):
            transfers.transfer_send_again(transfer=transfer, by=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, f"Queued {count} failed transfer(s) again.")
