"""Community in Django admin: groups, the word list, reports, and the moderation audit log
(read-only). Actions go through services, so the audit log and the authors' notices are
written as they are from the group's own moderation page."""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.models import User
from messaging.community.models import (
    Discussion,
    Group,
    HeldWord,
    Membership,
    ModerationAction,
    Report,
    ReportStatus,
    Revision,
)
from messaging.community.selectors import access_for
from messaging.community.services import moderation


def _me(request) -> User:
    """The signed-in staff member (admin pages are behind staff sign-in)."""
    return cast(User, request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "state", "joined_at", "ban_reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "access", "owner", "member_count", "discussion_count")
    list_filter = ("kind", "access", "specialization")
    search_fields = ("name", "owner__email")
    readonly_fields = (
        "kind",
        "owner",
        "created_by",
        "member_count",
        "discussion_count",
        "last_activity_at",
        "created_at",
    )
    fields = ("name", "description", "rules", "access", "specialization", *readonly_fields)
    inlines = [MembershipInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # created from the community pages, where the rules of who may create what live
        return False


@admin.register(HeldWord)
class HeldWordAdmin(admin.ModelAdmin):
    list_display = ("phrase", "created_at")
    search_fields = ("phrase",)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "group", "reporter", "target_author", "excerpt", "created_at")
    list_filter = ("status", "group")
    list_select_related = ("group", "reporter", "discussion__author", "reply__author")
    search_fields = ("reason", "discussion__title", "reporter__email")
    readonly_fields = (
        "group",
        "discussion",
        "reply",
        "reporter",
        "reason",
        "status",
        "resolution",
        "resolved_by",
        "resolved_at",
        "created_at",
    )
    fields = readonly_fields
    actions = ("hide_post", "dismiss")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="author")
    def target_author(self, report: Report):
        return report.target.author

    @admin.display(description="post")
    def excerpt(self, report: Report) -> str:
        return report.target.body[:80]

    @admin.action(description="Hide the reported post (reason: the report's)")
    def hide_post(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.filter(status=ReportStatus.OPEN).select_related(
            "group", "discussion", "reply"
        ):
            access = access_for(group=report.group, user=_me(request))
            moderation.post_moderate(
                access=access,
                moderator=_me(request),
                post=report.target,
                action="hide",
                reason=f"Reported: {report.reason}"[:1000],
            )
        self.message_user(request, "Hidden.", messages.SUCCESS)

    @admin.action(description="Dismiss (nothing wrong)")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset.filter(status=ReportStatus.OPEN).select_related("group"):
            access = access_for(group=report.group, user=_me(request))
            moderation.report_dismiss(access=access, moderator=_me(request), report=report)
        self.message_user(request, "Dismissed.", messages.SUCCESS)


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log: every moderation action, read-only."""

    list_display = ("created_at", "kind", "group", "moderator", "member", "reason")
    list_filter = ("kind", "group")
    list_select_related = ("group", "moderator", "member")
    search_fields = ("reason", "member__email", "moderator__email")
    readonly_fields = (
        "created_at",
        "kind",
        "group",
        "moderator",
        "member",
        "discussion",
        "reply",
        "report",
        "reason",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Discussion)
class DiscussionAdmin(admin.ModelAdmin):
    """Read-only: moderators act from the group's moderation page or on reports."""

    list_display = ("title", "group", "author", "status", "reply_count", "last_activity_at")
    list_filter = ("status", "group")
    list_select_related = ("group", "author")
    search_fields = ("title", "author__email")
    readonly_fields = (
        "group",
        "author",
        "title",
        "body",
        "status",
        "held_reason",
        "moderation_reason",
        "reply_count",
        "created_at",
        "edited_at",
        "last_activity_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    """Edit history kept for moderators."""

    list_display = ("discussion", "reply", "edited_by", "edited_at")
    list_select_related = ("discussion", "reply", "edited_by")
    readonly_fields = ("discussion", "reply", "title", "body", "edited_by", "edited_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
