"""Platform membership: staff's plans as Stripe Products and Prices, a coach's membership on
Checkout following its Stripe subscription, and the fee rule a member pays by; the coach's
Membership page. Stripe is the local Stripe, through the real library."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bookings.services import checkout
from coaches import selectors
from coaches.models import CoachMembership, MembershipPlan, MembershipStatus
from coaches.services import memberships
from marketplace.errors import Conflict, NotAllowed
from payments.gateway import stripe_client
from payments.models import StaffAlert, Subscription, SubscriptionKind, SubscriptionStatus
from payments.sandbox import billing, controls
from payments.services import customers
from payments.services.charges import CheckoutUrls
from tests.bookings import plan_setup
from tests.bookings.conftest import stripe_coach
from tests.bookings.factories import next_hour
from tests.coaches.factories import CoachProfileFactory
from tests.factories import UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db

URLS = CheckoutUrls(
    success_url="http://testserver/coaches/membership/?checkout=done",
    cancel_url="http://testserver/coaches/membership/?checkout=cancelled",
)
START = 1_800_000_000  # 2027-01-15, a test clock's frozen time
DAY = 86400


@pytest.fixture
def local_stripe(db, settings):
    """The local Stripe, clean, with the product's webhook endpoints (in-process)."""
    settings.SITE_URL = "http://testserver"
    settings.PLATFORM_FEE_BPS = 1500
    settings.PLATFORM_MINIMUM_FEE = 0
    controls.reset()
    controls.register_default_endpoints("http://testserver")
    return controls


@pytest.fixture
def deliver(local_stripe, django_capture_on_commit_callbacks):
    """Deliver Stripe's pending events to the product and process them until none is left."""
    return lambda: plan_setup.deliver(django_capture_on_commit_callbacks)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a block's on-commit work (queued tasks, webhook deliveries) as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def pro_plan(committed, **fields) -> MembershipPlan:
    values = {"name": "Pro", "price": 2900, "currency": "usd", "fee_bps": 500, **fields}
    with committed():
        plan = memberships.membership_plan_save(plan=MembershipPlan(**values))
    plan.refresh_from_db()
    return plan


def on_test_clock(user) -> str:
    """Give ``user`` a Stripe Customer on a test clock (as their first payment would make
    one); returns the clock's id."""
    client = stripe_client()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    customer = client.v1.customers.create(params={"email": user.email, "test_clock": clock.id})
    customers.customer_record(user=user, stripe_customer_id=customer.id)
    return clock.id


def advance(clock_id: str, to: int) -> None:
    stripe_client().v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})


def member(coach, plan, deliver, *, card: str = "4242424242424242") -> CoachMembership:
    """``coach`` subscribes to ``plan`` and pays on Checkout; Stripe's events arrive."""
    membership = memberships.membership_start(coach=coach, plan=plan, urls=URLS)
    controls.pay_checkout_session(
        membership.subscription.stripe_checkout_session_id, card=card, email=coach.user.email
    )
    deliver()
    membership.refresh_from_db()
    return membership


def hold_fee(session_type, committed, *, days: int = 3) -> int:
    with committed():
        _booking, payment = checkout.booking_book(
            client=UserFactory(),
            session_type=session_type,
            starts_at=next_hour(days=days),
            topic="",
            client_time_zone="UTC",
            urls_for=lambda booking: URLS,
        )
    assert payment is not None
    return payment.application_fee


# --- the fee rule ---------------------------------------------------------------------------


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**10),
    platform_bps=st.integers(min_value=0, max_value=10000),
    platform_minimum=st.integers(min_value=0, max_value=10**4),
    override_bps=st.one_of(st.none(), st.integers(min_value=0, max_value=10000)),
    override_minimum=st.one_of(st.none(), st.integers(min_value=0, max_value=10**4)),
    membership_bps=st.one_of(st.none(), st.integers(min_value=0, max_value=10000)),
)
def test_a_member_pays_the_lower_of_the_membership_and_what_they_would_pay_without(
    total, platform_bps, platform_minimum, override_bps, override_minimum, membership_bps
):
    from django.test import override_settings

    with override_settings(PLATFORM_FEE_BPS=platform_bps, PLATFORM_MINIMUM_FEE=platform_minimum):
        terms = selectors.fee_terms_of(
            fee_bps_override=override_bps,
            minimum_fee_override=override_minimum,
            membership_fee_bps=membership_bps,
            membership="Pro",
        )
        without = selectors.fee_terms_of(
            fee_bps_override=override_bps, minimum_fee_override=override_minimum
        )
    base = platform_bps if override_bps is None else override_bps
    assert without.fee_bps == base and without.membership == ""
    expected = base if membership_bps is None else min(base, membership_bps)
    assert terms.fee_bps == expected
    # a membership never raises a fee, and never touches the minimum
    assert terms.fee_bps <= without.fee_bps
    assert terms.minimum_fee == without.minimum_fee
    assert terms.membership == ("Pro" if terms.fee_bps < base else "")
    fee, coach_amount = terms.split(total)
    assert fee + coach_amount == total and fee >= 0 and coach_amount >= 0
    assert fee <= without.split(total)[0]


@pytest.mark.parametrize(
    ("override_bps", "membership_bps", "expected_bps", "named"),
    [
        (None, None, 1500, False),  # the platform's default
        (1000, None, 1000, False),  # staff's override
        (None, 500, 500, True),  # a member
        (1000, 500, 500, True),  # a member with an override above the membership's
        (300, 500, 300, False),  # an override below the membership's stays
        (None, 2000, 1500, False),  # a membership above the default does not raise it
        (None, 0, 0, True),  # a membership with no platform fee
    ],
)
def test_the_fee_rule_table(settings, override_bps, membership_bps, expected_bps, named):
    settings.PLATFORM_FEE_BPS = 1500
    terms = selectors.fee_terms_of(
        fee_bps_override=override_bps,
        minimum_fee_override=None,
        membership_fee_bps=membership_bps,
        membership="Pro",
    )
    assert terms.fee_bps == expected_bps
    assert bool(terms.membership) is named


def _membership(coach, plan, *, status, subscription_status, past_due_days=None):
    subscription = Subscription.objects.create(
        kind=SubscriptionKind.MEMBERSHIP,
        customer_user=coach.user,
        stripe_price_id="price_test",
        amount=plan.price,
        currency=plan.currency,
        status=subscription_status,
    )
    since = timezone.now() - timedelta(days=past_due_days) if past_due_days is not None else None
    return CoachMembership.objects.create(
        coach=coach,
        plan=plan,
        subscription=subscription,
        status=status,
        fee_bps=plan.fee_bps,
        past_due_since=since,
    )


@pytest.mark.parametrize(
    ("status", "subscription_status", "past_due_days", "expected_bps"),
    [
        (MembershipStatus.ACTIVE, SubscriptionStatus.ACTIVE, None, 500),
        (MembershipStatus.ACTIVE, SubscriptionStatus.TRIALING, None, 500),
        # Stripe retries a failed renewal: the member's fee lasts the grace days
        (MembershipStatus.PAST_DUE, SubscriptionStatus.PAST_DUE, 1, 500),
        (MembershipStatus.PAST_DUE, SubscriptionStatus.PAST_DUE, 13, 500),
        (MembershipStatus.PAST_DUE, SubscriptionStatus.PAST_DUE, 15, 1500),
        # Stripe gave up and left it unpaid, or paused it: no member's fee
        (MembershipStatus.PAST_DUE, SubscriptionStatus.UNPAID, 1, 1500),
        (MembershipStatus.PAST_DUE, SubscriptionStatus.PAUSED, 1, 1500),
        (MembershipStatus.PENDING, SubscriptionStatus.CHECKOUT, None, 1500),
        (MembershipStatus.EXPIRED, SubscriptionStatus.CHECKOUT_EXPIRED, None, 1500),
        (MembershipStatus.ENDED, SubscriptionStatus.CANCELED, None, 1500),
    ],
)
def test_which_memberships_lower_the_fee(
    settings, status, subscription_status, past_due_days, expected_bps
):
    settings.PLATFORM_FEE_BPS = 1500
    settings.MEMBERSHIP_PAST_DUE_GRACE_DAYS = 14
    coach = CoachProfileFactory()
    plan = MembershipPlan.objects.create(name="Pro", price=2900, fee_bps=500)
    _membership(
        coach,
        plan,
        status=status,
        subscription_status=subscription_status,
        past_due_days=past_due_days,
    )
    assert selectors.coach_fee_terms(coach).fee_bps == expected_bps
    assert selectors.user_fee_terms(coach.user).fee_bps == expected_bps


def test_a_membership_invoices_charge_has_a_registered_purpose():
    from payments import purposes
    from payments.models import PaymentKind

    assert purposes.PURPOSES[PaymentKind.MEMBERSHIP].lock_owner is not None
    membership = purposes.SUBSCRIPTION_PURPOSES[SubscriptionKind.MEMBERSHIP]
    assert membership.subscription_updated and membership.invoice_failed


def test_a_coach_holds_one_live_membership_the_database_says_so():
    coach = CoachProfileFactory()
    plan = MembershipPlan.objects.create(name="Pro", price=2900, fee_bps=500)
    _membership(coach, plan, status=MembershipStatus.ENDED, subscription_status="canceled")
    _membership(coach, plan, status=MembershipStatus.PENDING, subscription_status="checkout")
    with pytest.raises(IntegrityError), transaction.atomic():
        _membership(coach, plan, status=MembershipStatus.ACTIVE, subscription_status="active")


# --- staff's plans on Stripe ----------------------------------------------------------------


def test_saving_a_plan_makes_its_product_and_price_and_a_new_price_when_it_changes(
    local_stripe, committed
):
    client = stripe_client()
    # given: a plan staff saved
    plan = pro_plan(committed, description="Lower fees")
    assert plan.stripe_product_id.startswith("prod_") and plan.has_current_price
    first = client.v1.prices.retrieve(plan.stripe_price_id)
    assert (first.unit_amount, first.currency, first.recurring.interval) == (2900, "usd", "month")
    assert first.product == plan.stripe_product_id and first.active
    assert client.v1.products.retrieve(plan.stripe_product_id).name == "Pro"

    # when: only the fee changes, no new Price
    plan.fee_bps = 400
    with committed():
        memberships.membership_plan_save(plan=plan)
    plan.refresh_from_db()
    assert plan.stripe_price_id == first.id

    # when: the price and the interval change, and the name
    plan.price, plan.interval, plan.name = 29000, "year", "Pro yearly"
    with committed():
        memberships.membership_plan_save(plan=plan)
    plan.refresh_from_db()

    # then: a new Price of the same Product; the first one is unchanged (members keep it)
    assert plan.stripe_price_id != first.id and plan.has_current_price
    second = client.v1.prices.retrieve(plan.stripe_price_id)
    assert (second.unit_amount, second.recurring.interval) == (29000, "year")
    assert second.product == plan.stripe_product_id
    assert client.v1.prices.retrieve(first.id).unit_amount == 2900
    assert client.v1.products.retrieve(plan.stripe_product_id).name == "Pro yearly"
    # and running the sync again asks Stripe for nothing new
    again = memberships.membership_plan_stripe_sync(plan_id=plan.pk)
    assert again.stripe_price_id == second.id


def test_staff_define_a_plan_in_admin_and_bad_values_are_form_errors(
    local_stripe, client, django_capture_on_commit_callbacks
):
    sign_in_with_totp(client, UserFactory(is_staff=True, is_superuser=True))
    add = reverse("admin:coaches_membershipplan_add")
    form = {
        "name": "Pro",
        "description": "",
        "price": "2900",
        "currency": "usd",
        "interval": "month",
        "fee_bps": "20000",
        "is_active": "on",
    }
    refused = client.post(add, form)
    assert refused.status_code == 200
    assert "Ensure this value is less than or equal to 10000." in refused.content.decode()
    assert not MembershipPlan.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(add, {**form, "fee_bps": "500"})
    assert saved.status_code == 302
    plan = MembershipPlan.objects.get()
    assert plan.has_current_price and plan.stripe_product_id
    first_price = plan.stripe_price_id

    change = reverse("admin:coaches_membershipplan_change", args=[plan.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change, {**form, "fee_bps": "500", "price": "3900"})
    plan.refresh_from_db()
    assert plan.price == 3900 and plan.stripe_price_id != first_price
    assert stripe_client().v1.prices.retrieve(plan.stripe_price_id).unit_amount == 3900
    listing = client.get(reverse("admin:coaches_membershipplan_changelist")).content.decode()
    assert "$39.00 a month" in listing and "5%" in listing
    # a coach's page in admin tells the fee they pay now
    coach = CoachProfileFactory()
    _membership(coach, plan, status=MembershipStatus.ACTIVE, subscription_status="active")
    profile = client.get(reverse("admin:coaches_coachprofile_change", args=[coach.pk]))
    assert "5% (Pro membership)" in profile.content.decode()


# --- a coach's membership -------------------------------------------------------------------


def test_a_member_pays_the_membership_fee_on_bookings_until_it_ends(
    local_stripe, deliver, committed
):
    with committed():
        coach, session_type = stripe_coach()
        _other, other_session_type = stripe_coach()
    plan = pro_plan(committed)
    clock = on_test_clock(coach.user)
    # a non-member's booking: the platform's 15% of $120.00
    assert hold_fee(session_type, committed) == 1800

    # when: the coach subscribes and pays on Checkout
    started = memberships.membership_start(coach=coach, plan=plan, urls=URLS)
    assert started.status == MembershipStatus.PENDING and started.fee_bps == 500
    assert started.subscription.checkout_url
    assert selectors.coach_fee_terms(coach).fee_bps == 1500  # not before it is paid
    controls.pay_checkout_session(started.subscription.stripe_checkout_session_id)
    deliver()

    # then: a platform subscription (no transfer, no application fee), the membership active
    membership = CoachMembership.objects.select_related("subscription").get(pk=started.pk)
    assert membership.status == MembershipStatus.ACTIVE and membership.started_at is not None
    stripe_subscription = stripe_client().v1.subscriptions.retrieve(
        membership.subscription.stripe_subscription_id
    )
    assert stripe_subscription.status == "active"
    assert stripe_subscription.transfer_data is None
    assert stripe_subscription.application_fee_percent is None
    assert stripe_subscription["items"].data[0].price.id == plan.stripe_price_id
    assert selectors.coach_fee_terms(coach).membership == "Pro"
    # a member's booking: 5%; another coach's: 15%
    assert hold_fee(session_type, committed, days=4) == 600
    assert hold_fee(other_session_type, committed) == 1800

    # when: the coach cancels at period end, resumes, and cancels again
    memberships.membership_cancel_at_period_end(membership=membership, by=coach.user)
    membership.refresh_from_db()
    assert membership.subscription.cancel_at_period_end
    assert membership.status == MembershipStatus.ACTIVE
    memberships.membership_resume(membership=membership, by=coach.user)
    membership.refresh_from_db()
    assert not membership.subscription.cancel_at_period_end
    memberships.membership_cancel_at_period_end(membership=membership, by=coach.user)
    deliver()
    assert hold_fee(session_type, committed, days=5) == 600  # until the period ends

    # when: the paid period ends
    advance(clock, billing.add_interval(START, "month", 1))
    deliver()

    # then: the membership ended and the fee is the platform's again
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ENDED and membership.ended_at is not None
    assert membership.subscription.status == SubscriptionStatus.CANCELED
    assert selectors.coach_fee_terms(coach).fee_bps == 1500
    assert hold_fee(session_type, committed, days=6) == 1800


def test_a_coachs_coaching_plans_follow_the_membership_fee_percent(
    local_stripe, deliver, committed, django_capture_on_commit_callbacks
):
    with committed():
        coach, session_type = stripe_coach()
    offer = plan_setup.plan_of(coach, session_type)
    client, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(
        client, offer, django_capture_on_commit_callbacks
    )
    subscription = plan_subscription.subscription

    def percents() -> tuple[int, float]:
        subscription.refresh_from_db()
        on_stripe = stripe_client().v1.subscriptions.retrieve(subscription.stripe_subscription_id)
        return subscription.application_fee_bps, on_stripe.application_fee_percent

    assert percents() == (1500, 15)

    # when: the coach becomes a member, their running plan's next invoices take 5%
    membership = member(coach, pro_plan(committed), deliver)
    assert percents() == (500, 5)
    # and a plan subscribed to while a member starts at 5%
    second, _ = plan_setup.clock_client()
    assert (
        plan_setup.subscribe_and_pay(
            second, offer, django_capture_on_commit_callbacks
        ).subscription.application_fee_bps
        == 500
    )

    # when: the membership ends, 15% again
    with committed():
        stripe_client().v1.subscriptions.cancel(membership.subscription.stripe_subscription_id)
    deliver()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ENDED
    assert percents() == (1500, 15)


def test_a_failed_renewal_keeps_the_fee_while_stripe_retries_then_paying_restores_it(
    local_stripe, deliver, committed, settings
):
    settings.MEMBERSHIP_PAST_DUE_GRACE_DAYS = 14
    coach = CoachProfileFactory()
    plan = pro_plan(committed)
    clock = on_test_clock(coach.user)
    membership = member(coach, plan, deliver)
    assert membership.status == MembershipStatus.ACTIVE
    # the coach's card now fails (as a card that expired would)
    client = stripe_client()
    subscription_id = membership.subscription.stripe_subscription_id
    customer_id = client.v1.subscriptions.retrieve(subscription_id).customer
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer_id}
    )
    client.v1.subscriptions.update(subscription_id, params={"default_payment_method": failing.id})

    # when: the renewal fails
    advance(clock, billing.add_interval(START, "month", 1))
    deliver()

    # then: past due, with the member's fee for the grace days from now; the coach is told
    [told] = [m for m in mail.outbox if "Payment failed: your Pro membership" in m.subject]
    assert told.to == [coach.user.email]
    assert "/_stripe/invoices/" in told.body and "14 days" in told.body
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PAST_DUE
    assert membership.past_due_since is not None
    assert selectors.coach_fee_terms(coach).fee_bps == 500
    later = timezone.now() + timedelta(days=15)
    assert selectors.coach_fee_terms(coach, now=later).fee_bps == 1500

    # when: the coach pays the open invoice with a good card
    [invoice] = [
        i
        for i in client.v1.invoices.list(params={"subscription": subscription_id}).data
        if i.status == "open"
    ]
    visa = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer_id})
    client.v1.invoices.pay(invoice.id, params={"payment_method": visa.id})
    deliver()

    # then
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.past_due_since is None
    assert selectors.coach_fee_terms(coach, now=later).fee_bps == 500


def test_one_membership_at_a_time_and_only_the_coach_changes_it(local_stripe, deliver, committed):
    coach = CoachProfileFactory()
    pro, basic = pro_plan(committed), pro_plan(committed, name="Basic", fee_bps=1000, price=900)
    # pending: choosing another plan before paying ends the first one's Checkout
    changed_mind = memberships.membership_start(coach=coach, plan=basic, urls=URLS)
    membership = memberships.membership_start(coach=coach, plan=pro, urls=URLS)
    changed_mind.refresh_from_db()
    assert changed_mind.status == MembershipStatus.EXPIRED
    assert changed_mind.subscription.status == SubscriptionStatus.CHECKOUT_EXPIRED
    session = stripe_client().v1.checkout.sessions.retrieve(
        changed_mind.subscription.stripe_checkout_session_id
    )
    assert session.status == "expired"
    # the same plan again: the same membership and Checkout Session
    again = memberships.membership_start(coach=coach, plan=pro, urls=URLS)
    assert again.pk == membership.pk
    assert (
        again.subscription.stripe_checkout_session_id
        == membership.subscription.stripe_checkout_session_id
    )
    controls.pay_checkout_session(membership.subscription.stripe_checkout_session_id)
    deliver()
    # a member: another membership is refused, with the reason
    with pytest.raises(Conflict) as refused:
        memberships.membership_start(coach=coach, plan=basic, urls=URLS)
    assert refused.value.code == "membership_exists"
    assert "You already have the Pro membership (active)" in refused.value.message
    membership.refresh_from_db()
    with pytest.raises(NotAllowed):
        memberships.membership_cancel_at_period_end(
            membership=membership, by=CoachProfileFactory().user
        )
    assert CoachMembership.objects.filter(coach=coach).count() == 2


def test_a_pending_membership_whose_checkout_was_never_made_is_replaced(local_stripe, committed):
    coach = CoachProfileFactory()
    pro, basic = pro_plan(committed), pro_plan(committed, name="Basic", fee_bps=1000, price=900)
    # Stripe could not be reached when the first was started: no Checkout Session
    stuck = _membership(coach, pro, status=MembershipStatus.PENDING, subscription_status="checkout")
    replaced = memberships.membership_start(coach=coach, plan=basic, urls=URLS)
    stuck.refresh_from_db()
    assert stuck.status == MembershipStatus.EXPIRED
    assert replaced.status == MembershipStatus.PENDING and replaced.plan == basic


def test_a_plan_no_longer_offered_is_refused(local_stripe, committed):
    plan = pro_plan(committed, is_active=False)
    with pytest.raises(Conflict) as refused:
        memberships.membership_start(coach=CoachProfileFactory(), plan=plan, urls=URLS)
    assert refused.value.code == "membership_plan_inactive"


def test_an_expired_checkout_ends_pending_and_frees_the_coach_to_subscribe(
    local_stripe, deliver, committed
):
    coach = CoachProfileFactory()
    plan = pro_plan(committed)
    first = memberships.membership_start(coach=coach, plan=plan, urls=URLS)
    stripe_client().v1.checkout.sessions.expire(first.subscription.stripe_checkout_session_id)
    deliver()
    first.refresh_from_db()
    assert first.status == MembershipStatus.EXPIRED
    second = member(coach, plan, deliver)
    assert second.status == MembershipStatus.ACTIVE
    # the first session cannot now start a second paid membership without staff knowing
    first.subscription.refresh_from_db()
    with transaction.atomic():
        memberships.lock_coach_of(first.subscription)
        active = Subscription.objects.get(pk=first.subscription.pk)
        active.status = SubscriptionStatus.ACTIVE  # as a late completion would record it
        memberships.membership_subscription_updated(active)
    first.refresh_from_db()
    assert first.status == MembershipStatus.EXPIRED
    assert StaffAlert.objects.filter(message__contains="cancel and refund").exists()


def test_the_demo_memberships_are_made_once_with_their_prices(local_stripe):
    from coaches.demo import seed_demo_membership_plans

    first = seed_demo_membership_plans()
    again = seed_demo_membership_plans()
    assert [plan.pk for plan in again] == [plan.pk for plan in first]
    assert all(plan.has_current_price for plan in again)
    assert [plan.stripe_price_id for plan in again] == [plan.stripe_price_id for plan in first]
    assert stripe_client().v1.prices.retrieve(first[0].stripe_price_id).unit_amount == 2900


# --- the Membership page --------------------------------------------------------------------


def test_the_membership_page_offers_plans_and_subscribes_through_checkout(
    local_stripe, deliver, committed, client
):
    coach = CoachProfileFactory()
    plan = pro_plan(committed, description="For busy coaches")
    hidden = pro_plan(committed, name="Retired", is_active=False)
    client.force_login(coach.user)
    url = reverse("coaches:membership")

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your platform fee now" in html and "15%" in html
    assert "Subscribe to Pro" in html and "$29.00</strong> a month" in html
    assert "on a $100.00 session you keep $95.00" in html
    assert "Retired" not in html

    # bad input: no plan, a plan not offered, a plan that does not exist
    subscribe = reverse("coaches:membership_subscribe")
    for bad in ({}, {"plan": hidden.pk}, {"plan": "999999"}, {"plan": "pro"}):
        refused = client.post(subscribe, bad)
        assert refused.status_code == 400
        assert 'data-testid="membership-errors"' in refused.content.decode()
    assert not CoachMembership.objects.exists()

    # subscribing goes to Stripe's Checkout
    response = client.post(subscribe, {"plan": plan.pk})
    assert response.status_code == 303
    membership = CoachMembership.objects.select_related("subscription").get()
    assert response["Location"] == membership.subscription.checkout_url
    returned = client.get(url + "?checkout=done").content.decode()
    assert "Stripe is confirming your payment" in returned
    assert "Pay for your membership" in returned
    assert "Subscribe to Pro" not in returned  # its own Checkout is the button above
    # subscribing again goes back to the same Checkout
    twice = client.post(subscribe, {"plan": plan.pk})
    assert (twice.status_code, twice["Location"]) == (303, response["Location"])

    # paid: the page says so, and cancelling and resuming are one button each
    controls.pay_checkout_session(membership.subscription.stripe_checkout_session_id)
    deliver()
    html = client.get(url).content.decode()
    assert 'data-status="active"' in html and "Renews on" in html
    assert "the rate of your Pro membership" in html
    client.post(reverse("coaches:membership_cancel", args=[membership.pk]))
    html = client.get(url).content.decode()
    assert "Ends on" in html and "Keep my membership" in html
    client.post(reverse("coaches:membership_resume", args=[membership.pk]))
    assert "Cancel at the end of the period" in client.get(url).content.decode()
    # a member subscribing to another plan is told why not
    basic = pro_plan(committed, name="Basic", fee_bps=1000, price=900)
    other = client.post(subscribe, {"plan": basic.pk})
    assert other.status_code == 409
    assert "You already have the Pro membership (active)" in other.content.decode()


def test_the_page_is_the_coachs_own(local_stripe, committed, client):
    plan = pro_plan(committed)
    owner = CoachProfileFactory()
    membership = memberships.membership_start(coach=owner, plan=plan, urls=URLS)
    client.force_login(UserFactory())
    assert client.get(reverse("coaches:membership")).status_code == 403
    client.force_login(CoachProfileFactory().user)
    response = client.post(reverse("coaches:membership_cancel", args=[membership.pk]))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.subscription.cancel_at_period_end
    client.logout()
    assert client.get(reverse("coaches:membership")).status_code == 302
