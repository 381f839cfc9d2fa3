"""Payees who are not coaches: staff invite them by e-mail; the link lets them set up an
Express account that only receives transfers, through the coaches' payment setup.

The link's token is sent once and only its SHA-256 is stored, so the admin never shows a
working link. The invitation is accepted by whoever is signed in with the invited address
(e-mail addresses are verified at sign-up) and opens the link before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, DomainError, NotAllowed, NotFound
from marketplace.models import User
from payments.models import PayeeInvitation


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def payee_invitation_link(token: str) -> str:
    return settings.SITE_URL + reverse("payments:payee_invitation", args=[token])


def payee_invite(*, email: str, note: str, by: User) -> tuple[PayeeInvitation, str]:
    """Invite ``email`` to receive payouts: record the invitation and e-mail its link (after
    commit). Returns the invitation and the link (shown to the inviting staff member once)."""
    if not by.is_staff:
        raise NotAllowed("Only staff can invite payees.")
    email = User.objects.normalize_email(email.strip())
    if not email or "@" not in email:
        raise DomainError("Give the e-mail address to invite.", fields={"email": ["Required."]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = PayeeInvitation.objects.create(
            email=email,
            note=note.strip()[:200],
            token_hash=_hash(token),
            invited_by=by,
            expires_at=timezone.now() + timedelta(days=settings.PAYEE_INVITATION_DAYS),
        )
        link = payee_invitation_link(token)
        send_templated_email(
            to=email,
            subject="Set up your account to receive a payment",
            template="payments_payee_invitation",
            context={"invitation": invitation, "link": link},
        )
    return invitation, link


def payee_invitation_accept(*, token: str, user: User) -> PayeeInvitation:
    """``user`` opened an invitation link: they become a payee (idempotent for them).

    Refused when the link is unknown (404), expired, for another address, or already used
    by someone else (409)."""
    with transaction.atomic():
        invitation = (
            PayeeInvitation.objects.select_for_update().filter(token_hash=_hash(token)).first()
        )
        if invitation is None:
            raise NotFound("This invitation link is not valid.")
        if invitation.accepted_by_id is not None:
            if invitation.accepted_by_id == user.pk:
                return invitation
            raise Conflict("This invitation was already used.", code="invitation_used")
        if invitation.expires_at <= timezone.now():
            raise Conflict(
                "This invitation has expired: ask our staff for a new one.",
                code="invitation_expired",
            )
        if invitation.email.lower() != user.email.lower():
            raise NotAllowed(
                f"This invitation is for {invitation.email}: sign in with that address.",
                code="invitation_other_address",
            )
        invitation.accepted_by = user
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_by", "accepted_at"])
    return invitation
