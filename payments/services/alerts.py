"""Staff alerts: something staff must look at, counted in the admin's badge until resolved."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.emails import send_templated_email
from marketplace.models import User
from payments.models import ConnectedAccount, StaffAlert


def staff_alert_raise(
    *, kind: str, message: str, account: ConnectedAccount | None = None
) -> StaffAlert:
    """Record an alert (counted in the admin badge until resolved) and e-mail staff."""
    alert = StaffAlert.objects.create(kind=kind, account=account, message=message)
    if settings.STAFF_ALERT_EMAILS:
        send_templated_email(
            to=list(settings.STAFF_ALERT_EMAILS),
            subject=f"Staff alert: {alert.get_kind_display()}",
            template="payments_staff_alert",
            context={
                "alert": alert,
                "kind": alert.get_kind_display(),
                "message": message,
                "account": account,
                "admin_path": reverse("admin:payments_staffalert_change", args=[alert.pk]),
            },
        )
    return alert


def staff_alert_resolve(*, alert: StaffAlert, by: User) -> StaffAlert:
    with transaction.atomic():
        locked = StaffAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by = by
            locked.save(update_fields=["resolved_at", "resolved_by"])
    return locked
