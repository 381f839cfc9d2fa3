"""The moderation queue: reports in Django admin, acted on through services."""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from marketplace.models import User
from messaging import services
from messaging.models import Block, Message, Report, ReportStatus, Sanction, Thread


def _me(request) -> User:
    """The signed-in user (the view is behind a login, permission or staff check)."""
    return cast(User, request.user)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "reported_sender", "reporter", "excerpt", "created_at")
    list_filter = ("status",)
    list_select_related = ("message__sender", "reporter")
    search_fields = ("message__body", "reason", "reporter__email", "message__sender__email")
    ordering = ("status", "-created_at")
    readonly_fields = (
        "message",
        "reporter",
        "reason",
        "reported_sender",
        "message_text",
        "context",
        "status",
        "resolution",
        "resolved_by",
        "resolved_at",
        "created_at",
    )
    fields = readonly_fields
    actions = ("hide_message", "warn_sender", "suspend_sender", "dismiss")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="sender")
    def reported_sender(self, report: Report):
        return report.message.sender

    @admin.display(description="message")
    def excerpt(self, report: Report) -> str:
        return report.message.body[:80]

    @admin.display(description="reported message")
    def message_text(self, report: Report):
        return format_html(
            "<p>{}</p><p>{}</p>",
            report.message.body,
            "hidden" if report.message.is_hidden else "visible",
        )

    @admin.display(description="conversation around it")
    def context(self, report: Report):
        message = report.message
        nearby = Message.objects.filter(
            thread_id=message.thread_id, seq__gte=message.seq - 5, seq__lte=message.seq + 5
        ).select_related("sender")
        rows = format_html_join(
            "",
            "<li>{} #{} {}: {}</li>",
            (
                ("▶" if item.pk == message.pk else "", item.seq, item.sender, item.body[:300])
                for item in nearby
            ),
        )
        link = reverse("messaging:thread", args=[message.thread_id])
        return format_html(
            '<ol class="moderation-context">{}</ol><a href="{}">Open the conversation</a>',
            rows,
            link,
        )

    @admin.action(description="Hide the reported message")
    def hide_message(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.select_related("message"):
            services.message_hide(message=report.message, moderator=_me(request), report=report)
        self.message_user(request, f"Hid {queryset.count()} message(s).", messages.SUCCESS)

    @admin.action(description="Warn the sender (e-mail)")
    def warn_sender(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.select_related("message__sender"):
            services.user_warn(user=report.message.sender, moderator=_me(request), report=report)
        self.message_user(request, f"Warned {queryset.count()} sender(s).", messages.SUCCESS)

    @admin.action(description="Suspend the sender from messaging")
    def suspend_sender(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.select_related("message__sender"):
            services.user_suspend(user=report.message.sender, moderator=_me(request), report=report)
        self.message_user(request, f"Suspended {queryset.count()} sender(s).", messages.SUCCESS)

    @admin.action(description="Dismiss (nothing wrong)")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.filter(status=ReportStatus.OPEN):
            services.report_dismiss(report=report, moderator=_me(request))
        self.message_user(request, "Dismissed.", messages.SUCCESS)


@admin.register(Sanction)
class SanctionAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "created_at", "created_by", "lifted_at")
    list_filter = ("kind",)
    search_fields = ("user__email",)
    readonly_fields = ("user", "kind", "report", "note", "created_by", "created_at", "lifted_at")
    actions = ("lift",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Lift the suspension")
    def lift(self, request: HttpRequest, queryset: QuerySet[Sanction]) -> None:
        for sanction in queryset:
            services.sanction_lift(sanction=sanction)
        self.message_user(request, "Lifted.", messages.SUCCESS)


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    """Read-only: staff read a conversation only through a report."""

    list_display = ("id", "client", "coach", "last_seq", "last_message_at")
    search_fields = ("client__email", "coach__email")
    readonly_fields = ("client", "coach", "last_seq", "last_message_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__email", "blocked__email")
    readonly_fields = ("blocker", "blocked", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
