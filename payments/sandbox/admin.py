"""The local Stripe in Django admin: objects (read-only), webhook endpoints and deliveries."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from payments.sandbox import events
from payments.sandbox.models import StripeObject, WebhookDelivery, WebhookEndpoint


@admin.register(StripeObject)
class StripeObjectAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "object_type", "account", "created")
    list_filter = ("object_type",)
    search_fields = ("stripe_id", "account")
    readonly_fields = ("stripe_id", "object_type", "account", "created", "pretty_data")
    exclude = ("data", "internal")

    @admin.display(description="JSON")
    def pretty_data(self, obj: StripeObject) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "connect", "stripe_id")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("event_id",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    actions = ("deliver_again",)

    @admin.action(description="Deliver again now")
    def deliver_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        statuses = [events.deliver(d.pk, force=True, schedule_retry=False) for d in queryset]
        self.message_user(request, f"Delivered {len(statuses)}: answers {statuses}.", messages.INFO)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
