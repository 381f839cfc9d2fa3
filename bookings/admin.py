"""Bookings admin: bookings with their history, policies, packages and purchases, calendar
feeds. Admin actions call services; money rows are in the payments admin."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from bookings.models import (
    Booking,
    BookingStatusChange,
    CalendarFeed,
    CancellationPolicy,
    CoachingPlan,
    Package,
    PackagePurchase,
    PlanCredit,
    PlanSubscription,
)
from bookings.services import after_session, cancellation, rescheduling
from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.money import format_money


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


class RescheduleForm(forms.Form):
    """The new start of the selected booking, in the staff member's time zone."""

    starts_at = forms.DateTimeField(
        label="New start",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Bookings are read here and changed only by actions that call bookings' services (the
    state machine, the coach's lock, the refund): no field is editable, none is added or
    deleted by hand."""

    list_display = [
        "id",
        "starts_at",
        "coach",
        "client",
        "session_type",
        "status_label",
        "has_dispute",
    ]
    list_filter = ["status", "has_dispute", IssueFilter]
    search_fields = ["client__email", "coach__user__email", "coach__slug"]
    date_hierarchy = "starts_at"
    list_select_related = ["coach__user", "client", "session_type"]
    inlines = [StatusChangeInline]
    actions = [
        "cancel_with_refund",
        "mark_completed",
        "mark_no_show",
        "reschedule",
        "resolve_issues",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in Booking._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Read-only: no Save buttons; the actions on the list change a booking."""
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="status", ordering="status")
    def status_label(self, booking: Booking) -> str:
        return booking.get_status_display()

    def _each(self, request: HttpRequest, queryset: QuerySet[Booking], act, done: str) -> None:
        count = 0
        for booking in queryset:
            try:
                act(booking)
                count += 1
            except DomainError as error:
                self.message_user(request, f"Booking {booking.pk}: {error.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{done}: {count} booking(s).", messages.SUCCESS)

    @admin.action(description="Cancel and refund the client in full")
    def cancel_with_refund(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        staff = cast(User, request.user)
        self._each(
            request,
            queryset,
            lambda booking: cancellation.booking_cancel(
                booking=booking, by=staff, reason="Cancelled by our team"
            ),
            "Cancelled",
        )

    @admin.action(description="Mark completed")
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        staff = cast(User, request.user)
        self._each(
            request,
            queryset,
            lambda booking: after_session.booking_complete(booking=booking, by=staff),
            "Completed",
        )

    @admin.action(description="Mark the client a no-show")
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        staff = cast(User, request.user)
        self._each(
            request,
            queryset,
            lambda booking: after_session.booking_mark_no_show(booking=booking, by=staff),
            "Marked no-show",
        )

    @admin.action(description="Reschedule…")
    def reschedule(self, request: HttpRequest, queryset: QuerySet[Booking]):
        """Move one booking to a new start (a form first; the service checks the slot)."""
        if queryset.count() != 1:
            self.message_user(request, "Choose one booking to reschedule.", messages.ERROR)
            return None
        booking = queryset.get()
        form = RescheduleForm(request.POST if "starts_at" in request.POST else None)
        if form.is_valid():
            try:
                moved = rescheduling.booking_reschedule(
                    booking=booking,
                    by=cast(User, request.user),
                    starts_at=form.cleaned_data["starts_at"],
                )
            except DomainError as error:
                form.add_error("starts_at", error.message)
            else:
                self.message_user(request, f"Booking {booking.pk} moved: now booking {moved.pk}.")
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reschedule booking {booking.pk}",
            "booking": booking,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "bookings/admin/reschedule.html", context)

    @admin.action(description="Resolve the open issue (auto-completion and transfers resume)")
    def resolve_issues(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        for booking in queryset:
            try:
                after_session.booking_resolve_issue(booking=booking, by=request.user)  # type: ignore[arg-type]
            except DomainError as error:
                self.message_user(request, f"{booking}: {error.message}", messages.ERROR)


admin.site.register(CancellationPolicy)
admin.site.register(Package)
admin.site.register(CalendarFeed, list_display=["user", "created_at"], exclude=["token"])


@admin.register(PackagePurchase)
class PackagePurchaseAdmin(admin.ModelAdmin):
    """A purchase is money: read here, changed by bookings' and payments' services only."""

    list_display = ["id", "package", "client", "status", "price_with_currency", "created_at"]
    list_filter = ["status"]
    list_select_related = ["package", "client"]

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:  # type: ignore[override]
        return [
            "price_with_currency" if field.name == "price" else field.name
            for field in PackagePurchase._meta.fields
            if field.name not in ("id", "currency")
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return list(self.get_fields(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="price", ordering="price")
    def price_with_currency(self, purchase: PackagePurchase) -> str:
        return format_money(purchase.price, purchase.currency)


class _ReadOnly(admin.ModelAdmin):
    """Money and its bookkeeping: read here, changed by the services only."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CoachingPlan)
class CoachingPlanAdmin(_ReadOnly):
    list_display = ["id", "name", "coach", "sessions_per_period", "interval", "price_display"]
    list_filter = ["interval", "is_active", "rollover"]
    list_select_related = ["coach__user"]
    search_fields = ["name", "coach__user__email"]

    @admin.display(description="price", ordering="price")
    def price_display(self, plan: CoachingPlan) -> str:
        return format_money(plan.price, plan.currency)


class PlanCreditInline(admin.TabularInline):
    model = PlanCredit
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "stripe_invoice_id",
        "sessions",
        "rolled_over",
        "carried_forward",
        "period_start",
        "period_end",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PlanSubscription)
class PlanSubscriptionAdmin(_ReadOnly):
    list_display = ["id", "plan", "client", "status", "periods_paid", "created_at"]
    list_filter = ["status"]
    list_select_related = ["plan", "client"]
    search_fields = ["client__email", "plan__name"]
    inlines = [PlanCreditInline]
