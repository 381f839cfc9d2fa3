"""Bookings admin: bookings with their history, policies, packages and purchases, calendar
feeds. Admin actions call services; money rows are in the payments admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bookings.models import (
    Booking,
    BookingStatusChange,
    CalendarFeed,
    CancellationPolicy,
    Package,
    PackagePurchase,
)
from bookings.services import after_session
from marketplace.errors import DomainError


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
                after_session.booking_resolve_issue(booking=booking, by=request.user)  # type: ignore[arg-type]
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
