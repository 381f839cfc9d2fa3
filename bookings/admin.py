"""Bookings admin, and the money ledger (Payment, Refund, Dispute, Transfer).

The money models live in ``payments.models`` but belong to the bookings issue; they are
registered here so the Connect admin stays its engineer's. Admin actions call services.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from bookings import services
from bookings.models import (
    Booking,
    BookingStatusChange,
    CalendarFeed,
    CancellationPolicy,
    Package,
    PackagePurchase,
)
from marketplace.errors import DomainError
from marketplace.money import format_money
from payments.models import Dispute, Payment, Refund, Transfer


class StatusChangeInline(admin.TabularInline):
    model = BookingStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "source", "note", "changed_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class IssueFilter(admin.SimpleListFilter):
    title = "issue"
    parameter_name = "issue"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(issue_raised_at__isnull=False, issue_resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(issue_resolved_at__isnull=False)
        return queryset


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["id", "starts_at", "coach", "client", "session_type", "status", "has_dispute"]
    list_filter = ["status", "has_dispute", IssueFilter]
    search_fields = ["client__email", "coach__user__email", "coach__slug"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["coach", "client", "session_type", "package_purchase", "rescheduled_from"]
    readonly_fields = ["status", "created_at", "updated_at", "confirmed_at", "completed_at"]
    inlines = [StatusChangeInline]
    actions = ["resolve_issues"]

    @admin.action(description="Resolve the open issue (auto-completion and transfers resume)")
    def resolve_issues(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        for booking in queryset:
            try:
                services.booking_resolve_issue(booking=booking, by=request.user)  # type: ignore[arg-type]
            except DomainError as error:
                self.message_user(request, f"{booking}: {error.message}", messages.ERROR)


admin.site.register(CancellationPolicy)
admin.site.register(Package)
admin.site.register(CalendarFeed, list_display=["user", "created_at"], exclude=["token"])


@admin.register(PackagePurchase)
class PackagePurchaseAdmin(admin.ModelAdmin):
    list_display = ["id", "package", "client", "status", "price", "currency", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["package", "client", "coach"]


REFUND_FIELDS = (
    "amount",
    "currency",
    "reason",
    "status",
    "transfer_reversal_amount",
    "application_fee_refund_amount",
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


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "client", "coach", "total", "fee", "status", "created_at"]
    list_filter = ["status", "kind", "currency"]
    search_fields = [
        "client__email",
        "coach__email",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "stripe_checkout_session_id",
    ]
    readonly_fields = [field.name for field in Payment._meta.fields]
    inlines = [RefundInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Total")
    def total(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)

    @admin.display(description="Platform fee")
    def fee(self, payment: Payment) -> str:
        return format_money(payment.application_fee, payment.currency)

    def get_urls(self):
        return [
            path("ledger/", self.admin_site.admin_view(self.ledger_view), name="payments_ledger"),
            *super().get_urls(),
        ]

    def ledger_view(self, request: HttpRequest) -> TemplateResponse:
        """Per currency: charged, platform fees, refunded, reversed from coaches, fee
        refunds, disputed, package transfers, and the platform's net."""
        rows = []
        for currency in Payment.objects.values_list("currency", flat=True).distinct():
            paid = Payment.objects.filter(currency=currency).exclude(
                status__in=["pending", "failed", "cancelled"]
            )
            refunds = Refund.objects.filter(currency=currency, status="succeeded")
            figures = {
                "charged": paid.aggregate(v=Sum("amount"))["v"] or 0,
                "fees": paid.filter(kind="booking").aggregate(v=Sum("application_fee"))["v"] or 0,
                "refunded": refunds.aggregate(v=Sum("amount"))["v"] or 0,
                "reversed": refunds.aggregate(v=Sum("transfer_reversal_amount"))["v"] or 0,
                "fee_refunds": refunds.aggregate(v=Sum("application_fee_refund_amount"))["v"] or 0,
                "disputed": Dispute.objects.filter(currency=currency).aggregate(v=Sum("amount"))[
                    "v"
                ]
                or 0,
                "transfers": Transfer.objects.filter(currency=currency, status="paid").aggregate(
                    v=Sum("amount")
                )["v"]
                or 0,
            }
            package_charged = paid.filter(kind="package").aggregate(v=Sum("amount"))["v"] or 0
            package_refunded = (
                refunds.filter(payment__kind="package").aggregate(v=Sum("amount"))["v"] or 0
            )
            # What the platform keeps before Stripe's processing fees.
            net = (
                figures["fees"]
                - figures["fee_refunds"]
                + package_charged
                - package_refunded
                - figures["transfers"]
                - figures["disputed"]
            )
            rows.append(
                {
                    "currency": currency.upper(),
                    **{key: format_money(value, currency) for key, value in figures.items()},
                    "net": format_money(net, currency),
                }
            )
        context = {**self.admin_site.each_context(request), "title": "Money ledger", "rows": rows}
        return TemplateResponse(request, "bookings/admin/ledger.html", context)


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["id", "payment", "amount", "currency", "reason", "status", "created_at"]
    list_filter = ["status", "reason"]
    readonly_fields = [field.name for field in Refund._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["stripe_dispute_id", "payment", "amount", "currency", "reason", "status"]
    readonly_fields = [field.name for field in Dispute._meta.fields]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "package_purchase",
        "sequence",
        "amount",
        "currency",
        "status",
        "attempts",
    ]
    list_filter = ["status"]
    readonly_fields = [field.name for field in Transfer._meta.fields]
