from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from marketplace.models import OutboxMessage, SentMail, StatusChange, TaskFailure, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_staff", "is_active"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "role", "time_zone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "role", "password1", "password2")}),)


@admin.register(SentMail)
class SentMailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "sent_at"]
    search_fields = ["subject", "to"]
    readonly_fields = ["to", "subject", "body", "html_body", "attachments", "sent_at"]


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    """Every move of a money or moderation row's status: who, what moved it, why, when.
    Written by ``marketplace.states.transition`` only, so read-only here."""

    list_display = ["changed_at", "model", "object_id", "from_state", "to_state", "source", "actor"]
    list_filter = ["model", "to_state", "source"]
    search_fields = ["object_id", "note", "actor__email"]
    date_hierarchy = "changed_at"
    readonly_fields = [field.name for field in StatusChange._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(TaskFailure)
class TaskFailureAdmin(ReadOnlyAdmin):
    """Tasks that failed for good, as the worker recorded them (the operations page counts
    the last day's)."""

    list_display = ["failed_at", "task_name", "task_id", "error"]
    list_filter = ["task_name"]
    search_fields = ["task_name", "task_id", "error"]
    date_hierarchy = "failed_at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Tasks queued while the broker could not take them, waiting for the drain (and those it
    sent, kept a day)."""

    list_display = ["created_at", "task", "attempts", "last_error", "sent_at"]
    list_filter = ["task", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["task", "last_error"]
