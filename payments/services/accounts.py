"""Connected accounts: creating, onboarding, refreshing from Stripe and the settings written
to it.

The connected account's state is never set by hand: ``connected_account_refresh`` re-reads
the account from Stripe and applies what Stripe says unless a read that started later is
applied already, so webhooks, the poller and the coach's return from Stripe all converge on
the same answer whatever order they run in. No row lock or transaction is held while
Stripe is called: decide in a short transaction, call Stripe, record in a new one.
Payments imports no upper app: what it needs of the app that shows coaches (their public
page, being told when they can take charges) is registered with ``account_holder_register``
in that app's ``AppConfig.ready()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from marketplace import states
from marketplace.emails import send_templated_email
from marketplace.errors import Conflict, DomainError, InvalidTransition, NotAllowed, NotFound
from marketplace.models import User
from marketplace.money import MAX_CHARGE_AMOUNT
from payments import designs, gateway
from payments.errors import provider_error
from payments.models import (
    AccountState,
    AccountStateChange,
    ConnectedAccount,
    PayeeInvitation,
    PayoutInterval,
    StaffAlert,
)
from payments.services.alerts import staff_alert_raise
from payments.services.charges import FeeTerms, platform_fee_terms
from payments.states import AccountFacts, derive_state, requirement_labels

logger = logging.getLogger("payments.accounts")

# Polling: accounts that are not active are re-read with backoff (5 minutes doubling per
# unchanged poll, at most 6 hours); active ones at least once a day.
POLL_BASE_SECONDS = 5 * 60
POLL_MAX_SECONDS = 6 * 60 * 60
POLL_ACTIVE_SECONDS = 24 * 60 * 60

# The countries a coach can set up payouts in (the country cannot be changed once the
# account exists); ``payments.designs`` says what each allows.
SUPPORTED_COUNTRIES = designs.SUPPORTED_COUNTRIES


# The hosted page (onboarding, Express dashboard) a view sends the coach to.
HostedLink = gateway.HostedLink


@dataclass(frozen=True)
class AccountHolder:
    """What payments asks of the app that shows account holders (coaches)."""

    # The holder's public page, written to the Stripe account's business profile ("" if none).
    public_url: Callable[[User], str]
    # Told whenever the account can or can no longer take charges (idempotent).
    charges_enabled_changed: Callable[[User, bool], None]
    # The currency the holder sells in (a coach's prices), "" if none: amounts typed on the
    # payment setup page, the payout minimum, are shown in it.
    currency: Callable[[User], str] = lambda user: ""
    # The platform fee the holder pays (their override, their platform membership, else the
    # platform's default): told to a coach before they onboard.
    fee_terms: Callable[[User], FeeTerms] = lambda user: platform_fee_terms()


_holder = AccountHolder(public_url=lambda user: "", charges_enabled_changed=lambda user, on: None)


def account_holder_currency(holder: User) -> str:
    """The currency ``holder`` earns in, "" when the holder's app does not say."""
    return _holder.currency(holder)


def account_holder_fee_terms(holder: User) -> FeeTerms:
    """The platform fee ``holder`` pays now."""
    return _holder.fee_terms(holder)


def account_holder_register(holder: AccountHolder) -> None:
    global _holder
    _holder = holder


def next_poll_delay(*, state: str, unchanged_polls: int) -> timedelta | None:
    """How long until the poller should look at an account again (None: never)."""
    if state == AccountState.DEAUTHORIZED:
        return None
    if state == AccountState.ACTIVE:
        return timedelta(seconds=POLL_ACTIVE_SECONDS)
    seconds = min(POLL_BASE_SECONDS * 2 ** min(unchanged_polls, 12), POLL_MAX_SECONDS)
    return timedelta(seconds=seconds)


# --- creating and onboarding --------------------------------------------------------------


def is_payee_only(user: User) -> bool:
    """A person staff invited to receive payouts who is not a coach: their account takes
    transfers alone."""
    return not user.is_coach and PayeeInvitation.objects.filter(accepted_by=user).exists()


def may_set_up_payouts(user: User) -> bool:
    """Coaches, and people staff invited to receive payouts (``payees``)."""
    return user.is_coach or is_payee_only(user)


def connected_account_get_or_create_row(*, coach: User) -> ConnectedAccount:
    """The holder's account row, created on first use (insert-or-get under the unique
    holder): a coach's, or an invited payee's."""
    if not may_set_up_payouts(coach):
        raise NotAllowed("Only coaches and invited payees can set up payouts.")
    try:
        with transaction.atomic():
            account, _ = ConnectedAccount.objects.get_or_create(coach=coach)
    except IntegrityError:
        account = ConnectedAccount.objects.get(coach=coach)
    return account


def _public_url(coach: User) -> str:
    return _holder.public_url(coach) or ""


def connected_account_create(*, coach: User, country: str = "") -> ConnectedAccount:
    """Create the coach's Express account at Stripe, once.

    A double click, a retry or two tabs all end on the same row and the same Stripe account:
    the request's idempotency key is the row id. No lock is held while Stripe is asked: the
    row is read in a short transaction (what is already there, and whether it may be made),
    Stripe is called outside any, and its answer is recorded in a new short one, where a
    second caller finding the row already recorded keeps it (the same key gave it the same
    account). A second caller whose request arrives while the first is still at Stripe gets
    409 ``idempotency_key_in_use``; it sends the same request again after a short wait,
    until Stripe answers it with the first one's account. ``country`` is the new account's
    (default: the coach's time zone's country, else the platform's); once the account exists
    it cannot change (409 ``country_fixed``).
    """
    requested = country.upper()
    country = (
        requested
        or designs.country_for_time_zone(getattr(coach, "time_zone", "") or "")
        or settings.PLATFORM_COUNTRY
    ).upper()
    if country not in SUPPORTED_COUNTRIES:
        raise DomainError(
            "Choose a supported country.",
            code="invalid",
            fields={"country": [f"{country} is not supported."]},
        )
    row = connected_account_get_or_create_row(coach=coach)
    payee = is_payee_only(coach)
    if payee:
        agreement = designs.payee_agreement(country=country)
        if agreement is None:
            raise DomainError(
                designs.payee_summary(country=country),
                code="invalid",
                fields={"country": ["Stripe cannot send payouts to this country."]},
            )
    else:
        agreement = designs.onboarding_agreement(coach_country=country)
    account = ConnectedAccount.objects.get(pk=row.pk)
    if account.stripe_account_id:
        _refuse_other_country(account, requested)
        return account
    if account.state == AccountState.DEAUTHORIZED:
        raise Conflict("This Stripe account was disconnected; contact support to reconnect.")
    asked_at = _database_now()
    snapshot = _account_create_at_stripe(
        account=account,
        email=coach.email,
        country=country,
        service_agreement=agreement,
        business_url="" if payee else _public_url(coach),
        product_description=(
            "Prizes and bonuses paid by Coach Connect"
            if payee
            else "Coaching sessions booked through Coach Connect"
        ),
        transfers_only=payee,
    )
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=row.pk)
        if account.stripe_account_id:
            # Another click recorded the same account (same key) meanwhile.
            return account
        account.stripe_account_id = snapshot.id
        _apply_snapshot(account, snapshot, asked_at=asked_at)
        _move_to(account, _derive(account), source=AccountStateChange.Source.CREATE)
        account.save()
    return account


# While another request with the same idempotency key is at Stripe, Stripe answers 409
# ``idempotency_key_in_use`` (after the library's own retries); the request is sent again
# this many times, this long apart, before the coach is asked to try again.
CREATE_IN_FLIGHT_ATTEMPTS = 10
CREATE_IN_FLIGHT_WAIT_SECONDS = 0.3


def _account_create_at_stripe(
    *, account: ConnectedAccount, **fields: Any
) -> gateway.AccountSnapshot:
    """``gateway.account_create`` outside any transaction, waiting out a concurrent request
    with the same key (a double click) until Stripe answers with its account."""
    for attempt in range(CREATE_IN_FLIGHT_ATTEMPTS):
        try:
            return gateway.account_create(account=account, **fields)
        except gateway.GatewayError as error:
            if error.code != "idempotency_key_in_use" or attempt == CREATE_IN_FLIGHT_ATTEMPTS - 1:
                raise provider_error(error) from error
        time.sleep(CREATE_IN_FLIGHT_WAIT_SECONDS)
    raise AssertionError("not reached")  # pragma: no cover


def _refuse_other_country(account: ConnectedAccount, requested: str) -> None:
    if requested and account.country and requested != account.country:
        raise Conflict(
            f"Your Stripe account is in {account.country}; its country cannot be changed.",
            code="country_fixed",
        )


def connected_account_onboarding_link(
    *, coach: User, refresh_url: str, return_url: str
) -> gateway.HostedLink:
    """A fresh onboarding link for the coach (creating the account first if needed).

    Links expire and are single-use, so this is called for every "Continue setup" and from
    the refresh URL; a link never counts as completed: only Stripe's account fields do.
    """
    account = connected_account_create(coach=coach)
    if account.state in (AccountState.DEAUTHORIZED, AccountState.REJECTED):
        raise Conflict("Stripe cannot continue the setup of this account.")
    # Stripe is asked outside any transaction (a link changes nothing of ours); the move to
    # onboarding is recorded after, under the row lock.
    try:
        link = gateway.account_link_create(
            account=account, refresh_url=refresh_url, return_url=return_url
        )
    except gateway.GatewayError as error:
        raise provider_error(error) from error
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if account.state == AccountState.CREATED:
            _move_to(account, AccountState.ONBOARDING, source=AccountStateChange.Source.API)
            account.save()
    return link


def connected_account_login_link(*, coach: User) -> gateway.HostedLink:
    account = ConnectedAccount.objects.filter(coach=coach).first()
    if account is None or not account.stripe_account_id:
        raise NotFound("Set up payouts first.")
    if not account.details_submitted:
        raise Conflict("Finish the Stripe setup before opening the dashboard.")
    if account.state == AccountState.DEAUTHORIZED:
        raise Conflict("This Stripe account is disconnected.")
    try:
        return gateway.login_link_create(account=account)
    except gateway.GatewayError as error:
        raise provider_error(error) from error


# --- refreshing from Stripe ---------------------------------------------------------------


def connected_account_refresh(
    *,
    account: ConnectedAccount,
    source: str = AccountStateChange.Source.POLL,
    stripe_event_id: str = "",
) -> ConnectedAccount:
    """Re-read the account from Stripe and apply it.

    No lock is held while Stripe is read. Each refresh notes the database's clock when it
    starts, before it asks Stripe, and applies its answer (under the row lock, in a short
    transaction) only if no refresh that started later has been applied already; the start
    of the applied one is ``last_checked_at``. So an older event processed late cannot move
    the state back, and of two refreshes that overlap the later one wins: a change at Stripe
    after a refresh started sends an event whose refresh starts later still. Raises
    ``PaymentProviderError`` when Stripe cannot be reached (callers retry).
    """
    current = ConnectedAccount.objects.get(pk=account.pk)
    if not current.stripe_account_id or current.state == AccountState.DEAUTHORIZED:
        return current
    started_at = _database_now()
    try:
        snapshot = gateway.account_retrieve(stripe_account_id=current.stripe_account_id)
    except gateway.StripeObjectMissing:
        # The platform can no longer see the account: its access was revoked (final).
        return connected_account_deauthorize(
            account=current, source=source, stripe_event_id=stripe_event_id
        )
    except gateway.GatewayError as error:
        with transaction.atomic():
            locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
            locked.check_failures += 1
            locked.next_check_due_at = timezone.now() + (
                next_poll_delay(state=locked.state, unchanged_polls=locked.check_failures)
                or timedelta(hours=1)
            )
            locked.save(update_fields=["check_failures", "next_check_due_at", "updated_at"])
        raise provider_error(error) from error
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if locked.state == AccountState.DEAUTHORIZED or (
            locked.last_checked_at is not None and locked.last_checked_at > started_at
        ):
            return locked  # a refresh that started later is already applied
        before = locked.state
        _apply_snapshot(locked, snapshot, asked_at=started_at)
        _move_to(locked, _derive(locked), source=source, stripe_event_id=stripe_event_id)
        locked.check_failures = 0 if locked.state != before else locked.check_failures + 1
        delay = next_poll_delay(state=locked.state, unchanged_polls=locked.check_failures)
        locked.next_check_due_at = timezone.now() + delay if delay else None
        locked.save()
        # Idempotent, and keeps a coach profile made after activation in step.
        _holder.charges_enabled_changed(locked.coach, locked.can_take_charges)
    return locked


def _database_now() -> datetime:
    """The database's clock: one clock for every web and worker process that refreshes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (now,) = cursor.fetchone()
    return now


def connected_account_deauthorize(
    *, account: ConnectedAccount, source: str, stripe_event_id: str = ""
) -> ConnectedAccount:
    """The coach disconnected the platform from their Stripe account (final)."""
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        _deauthorize(locked, source=source, stripe_event_id=stripe_event_id)
        locked.save()
    return locked


def _deauthorize(account: ConnectedAccount, *, source: str, stripe_event_id: str) -> None:
    if account.state == AccountState.DEAUTHORIZED:
        return
    account.deauthorized_at = timezone.now()
    account.charges_enabled = False
    account.payouts_enabled = False
    account.next_check_due_at = None
    _move_to(account, AccountState.DEAUTHORIZED, source=source, stripe_event_id=stripe_event_id)


def _derive(account: ConnectedAccount) -> AccountState:
    return derive_state(
        AccountFacts(
            has_stripe_account=bool(account.stripe_account_id),
            details_submitted=account.details_submitted,
            charges_enabled=account.charges_enabled,
            payouts_enabled=account.payouts_enabled,
            currently_due=tuple(account.requirements_currently_due),
            past_due=tuple(account.requirements_past_due),
            disabled_reason=account.disabled_reason,
            deauthorized=account.deauthorized_at is not None,
            onboarding_started=account.state != AccountState.CREATED,
            ever_active=account.activated_at is not None,
            # Rows mirrored before capabilities were kept count as taking card payments.
            takes_card_payments="card_payments" in account.capabilities or not account.capabilities,
            transfers_active=account.capabilities.get("transfers") == "active",
        )
    )


def _apply_snapshot(
    account: ConnectedAccount, snapshot: gateway.AccountSnapshot, *, asked_at: datetime
) -> None:
    """Mirror Stripe's answer on the locked row; ``asked_at`` is the database's clock when
    the request that got it was sent (``last_checked_at``: refreshes compare with it)."""
    account.account_type = snapshot.type or "express"
    account.country = snapshot.country or account.country
    account.service_agreement = snapshot.service_agreement or account.service_agreement
    account.default_currency = snapshot.default_currency or account.default_currency
    account.email = snapshot.email or account.email
    account.charges_enabled = snapshot.charges_enabled
    account.payouts_enabled = snapshot.payouts_enabled
    account.details_submitted = snapshot.details_submitted
    account.requirements_currently_due = snapshot.currently_due
    account.requirements_eventually_due = snapshot.eventually_due
    account.requirements_past_due = snapshot.past_due
    account.requirements_pending_verification = snapshot.pending_verification
    account.requirements_errors = snapshot.errors
    account.disabled_reason = snapshot.disabled_reason
    account.current_deadline = snapshot.current_deadline
    account.capabilities = snapshot.capabilities
    account.business_url = snapshot.business_url
    account.business_product_description = snapshot.product_description
    schedule = snapshot.payout_schedule
    if schedule.interval in PayoutInterval.values:
        account.payout_interval = schedule.interval
    account.payout_weekly_anchor = schedule.weekly_anchor or ""
    account.payout_monthly_anchor = schedule.monthly_anchor
    account.payout_delay_days = schedule.delay_days
    account.payout_minimum_amount = _payout_minimum(snapshot.metadata, account)
    if account.last_checked_at is None or account.last_checked_at < asked_at:
        account.last_checked_at = asked_at


def _payout_minimum(metadata: dict[str, str], account: ConnectedAccount) -> int:
    """The minimum payout kept in the account's metadata, when it is one we could have
    written (0 to ``MAX_CHARGE_AMOUNT`` minor units); otherwise the one we have."""
    minimum = str(metadata.get("payout_minimum_amount", ""))
    if minimum.isascii() and minimum.isdigit() and int(minimum) <= MAX_CHARGE_AMOUNT:
        return int(minimum)
    if minimum:
        logger.warning(
            "connected account %s: ignoring payout_minimum_amount %r in Stripe's metadata",
            account.pk,
            minimum[:40],
        )
    return account.payout_minimum_amount


def _move_to(
    account: ConnectedAccount, new_state: str, *, source: str, stripe_event_id: str = ""
) -> None:
    """Move a locked account to ``new_state`` and act on it (the coach's bookability, e-mails,
    staff alerts). The caller holds the row lock and saves the other fields it changed."""
    old_state = account.state
    if new_state == AccountState.ACTIVE and account.activated_at is None:
        account.activated_at = timezone.now()
    try:
        moved = states.transition(
            account,
            new_state,
            source=source,
            reference=stripe_event_id,
            changes={"activated_at": account.activated_at},
            locked=True,
        )
    except InvalidTransition:
        logger.warning("connected account %s: %s -> %s refused", account.pk, old_state, new_state)
        return
    if not moved:
        return
    if AccountState.ACTIVE in (old_state, new_state) or new_state == AccountState.DEAUTHORIZED:
        _holder.charges_enabled_changed(account.coach, new_state == AccountState.ACTIVE)
    if new_state == AccountState.DEAUTHORIZED:
        _alert_deauthorized(account)
    elif old_state == AccountState.ACTIVE and new_state in (
        AccountState.RESTRICTED,
        AccountState.REJECTED,
    ):
        _alert_restricted(account, rejected=new_state == AccountState.REJECTED)


# --- what the account holder and staff are told ------------------------------------------


def _alert_restricted(account: ConnectedAccount, *, rejected: bool) -> None:
    requirements = requirement_labels(account.requirements_due)
    coach = account.coach
    payee = is_payee_only(coach)
    send_templated_email(
        to=coach.email,
        subject="Action needed: we cannot pay you right now"
        if payee
        else "Action needed: clients cannot book you right now",
        template="payments_account_restricted",
        context={
            "payee": payee,
            "coach": coach,
            "requirements": requirements,
            "deadline": account.current_deadline,
            "disabled_reason": account.disabled_reason,
            "rejected": rejected,
            "setup_path": reverse("payments:connect_setup"),
        },
    )
    staff_alert_raise(
        kind=StaffAlert.Kind.ACCOUNT_REJECTED if rejected else StaffAlert.Kind.ACCOUNT_RESTRICTED,
        account=account,
        message=(
            f"{coach.display_name} ({coach.email}), Stripe account {account.stripe_account_id}, "
            f"was active and is now {account.get_state_display().lower()}"
            f" ({account.disabled_reason or 'requirements past due'}): "
            f"{', '.join(requirements) or 'no requirement listed'}. "
            "They are no longer bookable; existing bookings stay."
        ),
    )


def _alert_deauthorized(account: ConnectedAccount) -> None:
    coach = account.coach
    send_templated_email(
        to=coach.email,
        subject="Your Stripe account was disconnected",
        template="payments_account_deauthorized",
        context={"coach": coach, "setup_path": reverse("payments:connect_setup")},
    )
    staff_alert_raise(
        kind=StaffAlert.Kind.ACCOUNT_DEAUTHORIZED,
        account=account,
        message=(
            f"{coach.display_name} ({coach.email}) disconnected Stripe account "
            f"{account.stripe_account_id} from the platform. They are no longer bookable; "
            "existing bookings stay, and transfers to this account will fail."
        ),
    )


# --- settings written to Stripe -----------------------------------------------------------


def _account_for_settings(coach: User) -> ConnectedAccount:
    account = ConnectedAccount.objects.filter(coach=coach).first()
    if account is None or not account.stripe_account_id:
        raise NotFound("Set up payouts first.")
    if account.state == AccountState.DEAUTHORIZED:
        raise Conflict("This Stripe account is disconnected.")
    return account


def connected_account_update_business_profile(
    *, coach: User, url: str, product_description: str
) -> ConnectedAccount:
    """Write the business profile to Stripe and keep what Stripe answers.

    Stripe is called outside any transaction; its answer is applied after, under the row
    lock (``_apply_answer``)."""
    account = _account_for_settings(coach)
    asked_at = _database_now()
    try:
        snapshot = gateway.account_update_business_profile(
            account=account, url=url, product_description=product_description
        )
    except gateway.GatewayError as error:
        raise provider_error(error) from error
    return _apply_answer(account, snapshot, asked_at=asked_at)


def _apply_answer(
    account: ConnectedAccount, snapshot: gateway.AccountSnapshot, *, asked_at: datetime
) -> ConnectedAccount:
    """Keep the account as Stripe answered an update, under the row lock. Two updates at
    once may be applied in the other order than Stripe made them; the ``account.updated``
    event each one sends re-reads the account under the lock (``connected_account_refresh``),
    so the row ends as Stripe has it."""
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        _apply_snapshot(locked, snapshot, asked_at=asked_at)
        _move_to(locked, _derive(locked), source=AccountStateChange.Source.API)
        locked.save()
    return locked


def connected_account_update_payout_schedule(
    *,
    coach: User,
    interval: str,
    weekly_anchor: str = "",
    monthly_anchor: int | None = None,
    minimum_amount: int = 0,
) -> ConnectedAccount:
    """Write the payout schedule to the account's ``settings.payouts.schedule`` and read back."""
    errors: dict[str, list[str]] = {}
    if interval not in PayoutInterval.values:
        errors["interval"] = ["Choose daily, weekly, monthly or manual."]
    if interval == PayoutInterval.WEEKLY and not weekly_anchor:
        errors["weekly_anchor"] = ["Choose the weekday for weekly payouts."]
    if interval == PayoutInterval.MONTHLY and not (monthly_anchor and 1 <= monthly_anchor <= 31):
        errors["monthly_anchor"] = ["Choose a day of the month between 1 and 31."]
    if not 0 <= minimum_amount <= MAX_CHARGE_AMOUNT:
        errors["minimum_amount"] = [
            f"The minimum payout is 0 to {MAX_CHARGE_AMOUNT:,} minor units of the payout currency."
        ]
    if errors:
        raise DomainError("The payout schedule is not valid.", fields=errors)
    account = _account_for_settings(coach)
    asked_at = _database_now()
    try:
        snapshot = gateway.account_update_payout_schedule(
            account=account,
            schedule=gateway.PayoutSchedule(
                interval=interval,
                weekly_anchor=weekly_anchor if interval == PayoutInterval.WEEKLY else "",
                monthly_anchor=monthly_anchor if interval == PayoutInterval.MONTHLY else None,
            ),
            minimum_amount=minimum_amount,
        )
    except gateway.GatewayError as error:
        raise provider_error(error) from error
    return _apply_answer(account, snapshot, asked_at=asked_at)
