"""Payments admin: connected accounts (funnel, refresh), staff alerts (badge), the webhook
inbox, the money ledger, and staff payouts (payee invitations, payout requests with their
approval, cancellation and reversal, and the audit trail with its CSV)."""

from __future__ import annotations

import csv
from datetime import UTC
from decimal import Decimal
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html

from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.money import decimals, format_money, format_percent, to_major, to_minor
from payments import selectors
from payments.errors import PaymentProviderError
from payments.models import (
    AccountStateChange,
    ConnectedAccount,
    Dispute,
    Invoice,
    PayeeInvitation,
    Payment,
    Payout,
    PayoutReason,
    PayoutRequest,
    PayoutRequestEvent,
    PayoutRequestStatus,
    ReconciliationDiscrepancy,
    ReconciliationRun,
    Refund,
    StaffAlert,
    Subscription,
    Transfer,
    TransferStatus,
    WebhookEvent,
)
from payments.services import (
    accounts,
    alerts,
    payees,
    payout_requests,
    refunds,
    transfers,
    webhooks,
)
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
        "kind",
        "package_purchase",
        "payout_request",
        "sequence",
        "amount_shown",
        "status",
        "attempts",
        "failure_code",
    ]
    list_filter = ["kind", "status", "failure_code"]
    money_fields = ("amount", "reversed_amount")
    actions = ["send_again"]

    @admin.action(description="Send again (a failed transfer whose cause was fixed)")
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for transfer in queryset.filter(status=TransferStatus.FAILED):
            transfers.transfer_send_again(transfer=transfer, by=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, f"Queued {count} failed transfer(s) again.")


# --- staff payouts --------------------------------------------------------------------------


class PayeeInviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    note = forms.CharField(
        label="What the payouts are for",
        max_length=200,
        required=False,
        help_text="Told to them in the e-mail, e.g. \u201cWinner of the spring challenge\u201d.",
    )


@admin.register(PayeeInvitation)
class PayeeInvitationAdmin(admin.ModelAdmin):
    """Invitations to receive payouts for people who are not coaches: the link is e-mailed
    and shown once, when the invitation is made."""

    list_display = ("email", "note", "invited_by", "created_at", "expires_at", "accepted_by")
    search_fields = ("email",)
    readonly_fields = (
        "email",
        "note",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_by",
        "accepted_at",
    )
    exclude = ("token_hash",)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        form = PayeeInviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                invitation, link = payees.payee_invite(
                    email=form.cleaned_data["email"],
                    note=form.cleaned_data["note"],
                    by=cast(User, request.user),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Invitation e-mailed to {invitation.email}. Its link, shown only now: {link}",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:payments_payeeinvitation_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite someone to receive payouts",
            "form": form,
            "submit": "Send the invitation",
            "help": (
                "They sign in (or sign up) with this address, open the link and set up a "
                "Stripe account that only receives transfers. Coaches need no invitation."
            ),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "payments/admin/form.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False}
        extra_context.update(show_save_and_continue=False, show_save_and_add_another=False)
        return super().change_view(request, object_id, form_url, extra_context)


class PayoutRequestForm(forms.Form):
    """What staff ask to pay: to whom, how much in which currency, why."""

    recipient = forms.EmailField(
        label="Recipient's e-mail address",
        help_text="A coach, or someone who accepted a payee invitation, with an active Stripe "
        "account.",
    )
    amount = forms.DecimalField(
        label="Amount", min_value=Decimal("0"), max_digits=12, decimal_places=3
    )
    currency = forms.CharField(label="Currency", max_length=3, min_length=3)
    reason = forms.ChoiceField(label="Reason", choices=[("", "---------"), *PayoutReason.choices])
    note = forms.CharField(label="Note", max_length=500, required=False, widget=forms.Textarea)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = settings.PLATFORM_CURRENCY
        self.fields["amount"].help_text = (
            f"In major units (500.00). Above {settings.PAYOUT_TWO_PERSON_THRESHOLD} another "
            f"staff member must approve; at most {settings.PAYOUT_MAX_AMOUNT} per payout."
        )
        self.fields["reason"].help_text = (
            f"A prize keeps {format_percent(settings.PAYOUT_PRIZE_FEE_BPS)} for the platform; "
            "the rest is transferred."
            if settings.PAYOUT_PRIZE_FEE_BPS
            else "The whole amount is transferred."
        )
        self.recipient_user: User | None = None
        self.minor_amount = 0

    def clean(self) -> dict:
        data = super().clean() or {}
        currency = (data.get("currency") or "").lower()
        if "amount" in data and len(currency) == 3:
            self.minor_amount = to_minor(data["amount"], currency)
            if to_major(self.minor_amount, currency) != data["amount"]:
                self.add_error(
                    "amount", f"{currency.upper()} has {decimals(currency)} decimal places."
                )
        if "recipient" in data:
            self.recipient_user = User.objects.filter(email__iexact=data["recipient"]).first()
            if self.recipient_user is None:
                self.add_error("recipient", "No account has this e-mail address.")
        if self.errors:
            return data
        try:
            payout_requests.payout_request_check(
                recipient=self.recipient_user,
                amount=self.minor_amount,
                currency=currency,
                reason=data.get("reason", ""),
            )
        except DomainError as error:
            for name, errors in error.fields.items():
                self.add_error(name if name in self.fields else None, errors)
            if not error.fields or error.message not in str(self.errors):
                self.add_error(None, error.message)
        return data


class ReversalForm(forms.Form):
    reversal_amount = forms.DecimalField(
        label="Amount to take back", min_value=Decimal("0"), max_digits=12, decimal_places=3
    )
    reversal_reason = forms.CharField(label="Reason", max_length=500)


class PayoutRequestEventInline(admin.TabularInline):
    model = PayoutRequestEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "actor", "amount_shown", "detail", "stripe_id")
    readonly_fields = fields
    verbose_name_plural = "Audit trail"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="amount")
    def amount_shown(self, event: PayoutRequestEvent) -> str:
        return _money(event.amount, event.currency)


@admin.register(PayoutRequest)
class PayoutRequestAdmin(MoneyRowAdmin):
    """Staff payouts: one staff member asks, another approves above the two-person
    threshold; approval sends the transfer through Celery; a payout can be cancelled before
    it reaches Stripe and reversed (with a reason) once paid. Every step is in the audit
    trail below it."""

    change_form_template = "payments/admin/payoutrequest_change_form.html"
    list_display = (
        "id",
        "recipient",
        "reason",
        "amount_shown",
        "platform_fee_shown",
        "net_amount_shown",
        "status",
        "needs_second_person",
        "requested_by",
        "approved_by",
        "created_at",
    )
    list_filter = ("status", "reason", "currency", "needs_second_person")
    search_fields = ("recipient__email", "note", "destination_account_id")
    list_select_related = ("recipient", "requested_by", "approved_by")
    money_fields = ("amount", "platform_fee", "net_amount", "reversal_amount")
    inlines = [PayoutRequestEventInline]

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:  # type: ignore[override]
        return ["terms", *super().get_fields(request, obj)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_staff)

    @admin.display(description="Before approval")
    def terms(self, payout_request: PayoutRequest) -> str:
        currency = payout_request.currency
        fee = (
            f"{format_money(payout_request.platform_fee, currency)} platform fee "
            f"({format_percent(payout_request.platform_fee_bps)}) kept"
            if payout_request.platform_fee
            else "no platform fee"
        )
        rule = (
            f"above {format_money(payout_requests.two_person_threshold(currency), currency)}: "
            "a staff member other than the requester must approve"
            if payout_request.needs_second_person
            else "the requester may approve it"
        )
        return (
            f"{format_money(payout_request.amount, currency)} awarded, {fee}, "
            f"{format_money(payout_request.net_amount, currency)} transferred to "
            f"{payout_request.destination_account_id}; {rule}."
        )

    def add_view(self, request, form_url="", extra_context=None):
        form = PayoutRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            assert form.recipient_user is not None
            try:
                created = payout_requests.payout_request_create(
                    recipient=form.recipient_user,
                    amount=form.minor_amount,
                    currency=form.cleaned_data["currency"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    by=cast(User, request.user),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Payout {created.pk} requested: "
                    f"{format_money(created.net_amount, created.currency)} to transfer after "
                    f"a {format_money(created.platform_fee, created.currency)} fee"
                    + (
                        "; another staff member must approve it."
                        if created.needs_second_person
                        else "; approve it to send it."
                    ),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:payments_payoutrequest_change", args=[created.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Request a payout",
            "form": form,
            "submit": "Request payout",
            "help": "Nothing is sent until the payout is approved.",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "payments/admin/form.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payout_request = self.get_object(request, object_id)
        extra: dict = {"reversal_form": ReversalForm()}
        if payout_request is not None:
            extra["payout_request"] = payout_request
            extra["may_approve"] = payout_request.status == PayoutRequestStatus.REQUESTED
            extra["own_request"] = payout_request.requested_by_id == request.user.pk
            extra["may_reverse"] = (
                payout_request.status == PayoutRequestStatus.PAID
                and payout_request.reversed_at is None
            )
            if extra["may_approve"]:
                try:
                    extra["platform_available"] = format_money(
                        selectors.platform_available(payout_request.currency),
                        payout_request.currency,
                    )
                except PaymentProviderError:
                    extra["platform_available"] = "Stripe could not be reached"
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def get_urls(self):
        def view(name: str):
            return self.admin_site.admin_view(getattr(self, f"{name}_view"))

        return [
            path(
                "<path:object_id>/approve/",
                view("approve"),
                name="payments_payoutrequest_approve",
            ),
            path("<path:object_id>/cancel/", view("cancel"), name="payments_payoutrequest_cancel"),
            path(
                "<path:object_id>/reverse/",
                view("reverse"),
                name="payments_payoutrequest_reverse",
            ),
            *super().get_urls(),
        ]

    def _act(self, request: HttpRequest, object_id: str, act) -> HttpResponse:
        back = HttpResponseRedirect(
            reverse("admin:payments_payoutrequest_change", args=[object_id])
        )
        if request.method != "POST":
            return back
        payout_request = self.get_object(request, object_id)
        if payout_request is None or not self.has_change_permission(request, payout_request):
            self.message_user(request, "No such payout request.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:payments_payoutrequest_changelist"))
        try:
            message = act(payout_request, cast(User, request.user))
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return back

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def approve(payout_request: PayoutRequest, by: User) -> str:
            payout_requests.payout_request_approve(payout_request=payout_request, by=by)
            return f"Payout {payout_request.pk} approved: its transfer is on its way to Stripe."

        return self._act(request, object_id, approve)

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def cancel(payout_request: PayoutRequest, by: User) -> str:
            payout_requests.payout_request_cancel(payout_request=payout_request, by=by)
            return f"Payout {payout_request.pk} cancelled; nothing was sent."

        return self._act(request, object_id, cancel)

    def reverse_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def reverse_payout(payout_request: PayoutRequest, by: User) -> str:
            form = ReversalForm(request.POST)
            if not form.is_valid():
                raise DomainError(
                    "Give the amount to take back and the reason: "
                    + "; ".join(
                        f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()
                    )
                )
            amount = to_minor(form.cleaned_data["reversal_amount"], payout_request.currency)
            done = payout_requests.payout_request_reverse(
                payout_request=payout_request,
                amount=amount,
                reason=form.cleaned_data["reversal_reason"],
                by=by,
            )
            return (
                f"{format_money(done.reversal_amount, done.currency)} of payout {done.pk} "
                "reversed at Stripe."
            )

        return self._act(request, object_id, reverse_payout)


@admin.register(PayoutRequestEvent)
class PayoutRequestEventAdmin(admin.ModelAdmin):
    """The audit trail of every payout request: who did what, when; filter it, then export
    what is shown as CSV."""

    change_list_template = "payments/admin/payoutrequestevent_change_list.html"
    list_display = ("at", "payout_request_link", "action", "actor", "amount_shown", "detail")
    list_filter = ("action", "payout_request__reason", "payout_request__status")
    search_fields = ("payout_request__recipient__email", "actor__email", "detail", "stripe_id")
    date_hierarchy = "at"
    list_select_related = ("actor", "payout_request")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="payout request", ordering="payout_request")
    def payout_request_link(self, event: PayoutRequestEvent) -> str:
        url = reverse("admin:payments_payoutrequest_change", args=[event.payout_request_id])
        return format_html('<a href="{}">Payout {}</a>', url, event.payout_request_id)

    @admin.display(description="amount")
    def amount_shown(self, event: PayoutRequestEvent) -> str:
        return _money(event.amount, event.currency)

    def get_urls(self):
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_view),
                name="payments_payoutrequestevent_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The audit trail as CSV, with the changelist's filters and search applied."""
        if not self.has_view_permission(request):
            return HttpResponse("Not allowed.", status=403, content_type="text/plain")
        events = self.get_changelist_instance(request).get_queryset(request).order_by("at", "id")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="payout-audit-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "at_utc",
                "payout_request",
                "recipient",
                "reason",
                "action",
                "actor",
                "amount_minor",
                "currency",
                "amount",
                "stripe_id",
                "detail",
            ]
        )
        for event in events.select_related("actor", "payout_request__recipient"):
            writer.writerow(
                [
                    event.at.astimezone(UTC).isoformat(),
                    event.payout_request_id,
                    event.payout_request.recipient.email,
                    event.payout_request.reason,
                    event.action,
                    event.actor.email if event.actor else "Stripe",
                    "" if event.amount is None else event.amount,
                    event.currency,
                    "" if event.amount is None else str(to_major(event.amount, event.currency)),
                    event.stripe_id,
                    _csv_safe(event.detail),
                ]
            )
        return response


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin.register(Subscription)
class SubscriptionAdmin(MoneyRowAdmin):
    """Stripe's copy of a subscription (a coaching plan, a platform membership)."""

    money_fields = ("amount",)
    list_display = [
        "id",
        "kind",
        "customer_user",
        "payee",
        "status",
        "amount_shown",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["kind", "status", "cancel_at_period_end"]
    list_select_related = ["customer_user", "payee"]
    search_fields = ["stripe_subscription_id", "customer_user__email", "payee__email"]


@admin.register(Invoice)
class InvoiceAdmin(MoneyRowAdmin):
    """Stripe's copy of an invoice: a subscription's period or a one-off payment's receipt."""

    money_fields = (
        "total",
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "application_fee_amount",
    )
    list_display = [
        "id",
        "number",
        "customer_user",
        "payee",
        "status",
        "total_shown",
        "issued_at",
    ]
    list_filter = ["status", "billing_reason"]
    list_select_related = ["customer_user", "payee"]
    search_fields = ["number", "stripe_invoice_id", "customer_user__email"]
