"""SetupIntents on the local Stripe, through the real library: a card set up for later
payments (attached to its customer), a declined card, 3-D Secure on the test page, a card set
up once then charged off session, and Stripe's refusals of a wrong move in its words."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from payments.sandbox import controls, setup_intents
from payments.sandbox.models import StripeObject
from tests.payments.sandbox.test_billing import DAY, START, advance, monthly_price


def customer(stripe_client, email="maya@example.test", **extra):
    return stripe_client.v1.customers.create(params={"email": email, **extra})


def events_of(setup_intent_id):
    """The types of the ``setup_intent.*`` events about the intent, in the order made."""
    return list(
        StripeObject.objects.filter(
            object_type="event",
            data__type__startswith="setup_intent.",
            data__data__object__id=setup_intent_id,
        )
        .order_by("id")
        .values_list("data__type", flat=True)
    )


def test_a_card_is_set_up_and_attached_to_the_customer(stripe_client, sandbox):
    # given: a SetupIntent for a customer, with no card yet
    maya = customer(stripe_client)
    intent = stripe_client.v1.setup_intents.create(
        params={"customer": maya.id, "metadata": {"purpose": "plan"}}
    )
    assert intent.id.startswith("seti_") and intent.object == "setup_intent"
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert (intent.status, intent.usage, intent.payment_method) == (
        "requires_payment_method",
        "off_session",
        None,
    )
    assert intent.payment_method_types == ["card"]
    # when: the card is given, then confirmed
    with_card = stripe_client.v1.setup_intents.update(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert with_card.status == "requires_confirmation"
    confirmed = stripe_client.v1.setup_intents.confirm(intent.id)
    # then: succeeded, the card is the customer's
    assert confirmed.status == "succeeded"
    assert confirmed.payment_method == with_card.payment_method
    method = stripe_client.v1.payment_methods.retrieve(confirmed.payment_method)
    assert method.customer == maya.id and method.card.last4 == "4242"
    [attached] = controls.events_of_type("payment_method.attached")
    assert attached["data"]["object"]["id"] == method.id
    [succeeded] = controls.events_of_type("setup_intent.succeeded")
    assert attached["created"] <= succeeded["created"]
    assert events_of(intent.id) == ["setup_intent.created", "setup_intent.succeeded"]
    # one attempt, found by the intent; the intent names it
    attempts = stripe_client.v1.setup_attempts.list(params={"setup_intent": intent.id}).data
    assert [a.id for a in attempts] == [confirmed.latest_attempt]
    assert (attempts[0].status, attempts[0].payment_method_details.card.last4) == (
        "succeeded",
        "4242",
    )
    # read back and listed by customer
    read = stripe_client.v1.setup_intents.retrieve(intent.id)
    assert read.metadata.to_dict() == {"purpose": "plan"}
    listed = stripe_client.v1.setup_intents.list(params={"customer": maya.id})
    assert [i.id for i in listed.data] == [intent.id]


def test_create_and_confirm_at_once_on_session(stripe_client, sandbox):
    maya = customer(stripe_client)
    intent = stripe_client.v1.setup_intents.create(
        params={
            "customer": maya.id,
            "payment_method": "pm_card_mastercard",
            "confirm": True,
            "usage": "on_session",
        }
    )
    assert (intent.status, intent.usage) == ("succeeded", "on_session")
    cards = stripe_client.v1.customers.payment_methods.list(maya.id).data
    assert [c.id for c in cards] == [intent.payment_method]


def test_a_declined_card_sends_it_back_for_another(stripe_client, sandbox):
    # given
    maya = customer(stripe_client)
    intent = stripe_client.v1.setup_intents.create(params={"customer": maya.id})
    # when: the card is declined
    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.setup_intents.confirm(
            intent.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    # then: Stripe's 402, the intent in the error, the failure recorded on it
    error = declined.value
    assert error.http_status == 402
    assert (error.code, error.error.decline_code) == ("card_declined", "generic_decline")
    assert error.user_message == "Your card was declined."
    assert error.error.setup_intent.id == intent.id
    assert error.error.setup_intent.status == "requires_payment_method"
    failed = stripe_client.v1.setup_intents.retrieve(intent.id)
    assert (failed.status, failed.payment_method) == ("requires_payment_method", None)
    assert failed.last_setup_error.code == "card_declined"
    assert failed.last_setup_error.type == "card_error"
    assert failed.last_setup_error.payment_method.card.last4 == "0002"
    assert stripe_client.v1.customers.payment_methods.list(maya.id).data == []
    # and another card sets it up, the failure cleared
    done = stripe_client.v1.setup_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert (done.status, done.last_setup_error) == ("succeeded", None)
    assert events_of(intent.id) == [
        "setup_intent.created",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
    ]
    attempts = stripe_client.v1.setup_attempts.list(params={"setup_intent": intent.id}).data
    assert [a.status for a in attempts] == ["succeeded", "failed"]
    assert attempts[1].setup_error.code == "card_declined"


def test_an_expired_card_names_its_expiry(stripe_client, sandbox):
    maya = customer(stripe_client)
    with pytest.raises(stripe.CardError) as declined:
        stripe_client.v1.setup_intents.create(
            params={
                "customer": maya.id,
                "payment_method": "pm_card_chargeDeclinedExpiredCard",
                "confirm": True,
            }
        )
    error = declined.value
    assert (error.code, error.param, error.error.decline_code) == (
        "expired_card",
        "exp_month",
        "expired_card",
    )
    # the intent was made all the same, and waits for another card
    [intent] = stripe_client.v1.setup_intents.list(params={"customer": maya.id}).data
    assert intent.status == "requires_payment_method"
    assert intent.id == error.error.setup_intent.id


def test_3d_secure_waits_for_the_customer_then_succeeds(stripe_client, sandbox, client):
    # given: a card that asks for authentication when it is set up
    maya = customer(stripe_client)
    intent = stripe_client.v1.setup_intents.create(
        params={
            "customer": maya.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
            "return_url": "https://coach.test/cards/done",
        }
    )
    # then: it waits, with the test page to send the customer to
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    page = intent.next_action.redirect_to_url.url
    assert intent.next_action.redirect_to_url.return_url == "https://coach.test/cards/done"
    assert stripe_client.v1.customers.payment_methods.list(maya.id).data == []
    shown = client.get(urlsplit(page).path)
    assert shown.status_code == 200 and b"Complete authentication" in shown.content
    # when: the customer completes it on the page
    answer = client.post(urlsplit(page).path, {"action": "complete"})
    # then: back to the merchant with Stripe's query, the card set up
    assert answer.status_code == 302
    back = urlsplit(answer["Location"])
    assert back.netloc == "coach.test" and back.path == "/cards/done"
    query = parse_qs(back.query)
    assert query["setup_intent"] == [intent.id]
    assert query["setup_intent_client_secret"] == [intent.client_secret]
    assert query["redirect_status"] == ["succeeded"]
    done = stripe_client.v1.setup_intents.retrieve(intent.id)
    assert (done.status, done.next_action) == ("succeeded", None)
    assert stripe_client.v1.payment_methods.retrieve(done.payment_method).customer == maya.id
    assert events_of(intent.id) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]
    [attempt] = stripe_client.v1.setup_attempts.list(params={"setup_intent": intent.id}).data
    assert attempt.payment_method_details.card.three_d_secure.result == "authenticated"


def test_3d_secure_without_a_return_url_goes_through_stripe_js_and_can_fail(stripe_client, sandbox):
    maya = customer(stripe_client)
    intent = stripe_client.v1.setup_intents.create(
        params={
            "customer": maya.id,
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": True,
        }
    )
    assert intent.next_action.type == "use_stripe_sdk"
    assert "/_stripe/setup_intents/" in intent.next_action.use_stripe_sdk.stripe_js
    failed = controls.authenticate_setup_intent(intent.id, succeed=False)
    assert (failed["status"], failed["payment_method"]) == ("requires_payment_method", None)
    error = stripe_client.v1.setup_intents.retrieve(intent.id).last_setup_error
    assert error.code == "setup_intent_authentication_failure"
    assert error.message == setup_intents.AUTHENTICATION_FAILED
    assert error.type == "invalid_request_error" and error.payment_method.card.last4 == "3220"
    assert events_of(intent.id)[-1] == "setup_intent.setup_failed"


def test_a_card_set_up_once_is_charged_off_session_without_asking_again(stripe_client, sandbox):
    """4000 0025 0000 3155 needs 3-D Secure when set up, never for the renewals after; 4000
    0027 6000 3184 asks every time, so its renewal fails with ``authentication_required``."""
    clock = stripe_client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    price = monthly_price(stripe_client)
    outcomes = {}
    for test_card in ("pm_card_authenticationRequiredOnSetup", "pm_card_authenticationRequired"):
        owner = customer(stripe_client, f"{test_card}@example.test", test_clock=clock.id)
        intent = stripe_client.v1.setup_intents.create(
            params={"customer": owner.id, "payment_method": test_card, "confirm": True}
        )
        assert intent.created == START  # on the customer's test clock
        controls.authenticate_setup_intent(intent.id)
        card = stripe_client.v1.setup_intents.retrieve(intent.id).payment_method
        subscription = stripe_client.v1.subscriptions.create(
            params={
                "customer": owner.id,
                "items": [{"price": price.id}],
                "default_payment_method": card,
                "trial_period_days": 7,
            }
        )
        outcomes[test_card] = subscription.id
    advance(stripe_client, clock, START + 7 * DAY)
    set_up_once = stripe_client.v1.subscriptions.retrieve(
        outcomes["pm_card_authenticationRequiredOnSetup"]
    )
    every_time = stripe_client.v1.subscriptions.retrieve(outcomes["pm_card_authenticationRequired"])
    assert set_up_once.status == "active"
    assert every_time.status == "past_due"
    failed = stripe_client.v1.invoices.retrieve(every_time.latest_invoice)
    intent = stripe_client.v1.invoice_payments.list(params={"invoice": failed.id}).data[0]
    payment = stripe_client.v1.payment_intents.retrieve(intent.payment.payment_intent)
    assert payment.last_payment_error.code == "authentication_required"


def test_wrong_moves_are_refused_in_stripes_words(stripe_client, sandbox):
    maya, lee = customer(stripe_client), customer(stripe_client, "lee@example.test")
    intent = stripe_client.v1.setup_intents.create(params={"customer": maya.id})
    # no card to confirm (the customer's default card is not used)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.confirm(intent.id)
    assert refused.value.code == "setup_intent_unexpected_state"
    assert refused.value.user_message == setup_intents.MISSING_PAYMENT_METHOD
    assert refused.value.error.setup_intent.id == intent.id
    # a card of another customer
    lees = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": lee.id})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.confirm(intent.id, params={"payment_method": lees.id})
    assert refused.value.param == "payment_method"
    assert refused.value.user_message == (
        f"The PaymentMethod {lees.id} does not belong to the Customer you supplied {maya.id}. "
        "Please use this PaymentMethod with the Customer that it belongs to instead."
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.create(params={"payment_method": lees.id})
    assert refused.value.user_message == (
        f"The payment method supplied ({lees.id}) belongs to the Customer {lee.id}. Please "
        "include the Customer in the `customer` parameter on the SetupIntent."
    )
    # canceled: not confirmed, not canceled again
    canceled = stripe_client.v1.setup_intents.cancel(
        intent.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")
    assert events_of(intent.id) == ["setup_intent.created", "setup_intent.canceled"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert refused.value.user_message == (
        "You cannot confirm this SetupIntent because it has been canceled."
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.cancel(intent.id)
    assert refused.value.user_message == (
        "You cannot cancel this SetupIntent because it is already canceled."
    )
    # succeeded: not confirmed again, not canceled, no other card
    done = stripe_client.v1.setup_intents.create(
        params={"customer": maya.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.confirm(done.id)
    assert refused.value.user_message == (
        "You cannot confirm this SetupIntent because it has already succeeded."
    )
    assert refused.value.error.setup_intent.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.cancel(done.id)
    assert refused.value.user_message == (
        "You cannot cancel this SetupIntent because it has a status of succeeded. Only a "
        "SetupIntent with one of the following statuses may be canceled: "
        "`requires_payment_method`, `requires_confirmation`, or `requires_action`."
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.update(done.id, params={"payment_method": "pm_card_visa"})
    assert refused.value.user_message == (
        "You cannot update this SetupIntent because it has already succeeded."
    )
    # description and metadata still change
    described = stripe_client.v1.setup_intents.update(
        done.id, params={"description": "Card for plans"}
    )
    assert described.description == "Card for plans"
    # an unknown intent, an unknown type
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.retrieve("seti_unknown")
    assert refused.value.http_status == 404
    assert refused.value.user_message == "No such setupintent: 'seti_unknown'"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.create(params={"allowed_payment_method_types": ["ideal"]})
    assert refused.value.param == "allowed_payment_method_types[0]"


# --- Checkout in setup mode ------------------------------------------------------------------


def setup_session(stripe_client, **params):
    return stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "success_url": "https://coach.test/cards/saved?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://coach.test/cards/",
            **params,
        }
    )


def test_a_setup_session_saves_a_card_through_its_setup_intent(stripe_client, sandbox, client):
    # given: a setup session for a customer
    maya = customer(stripe_client)
    session = setup_session(
        stripe_client, customer=maya.id, setup_intent_data={"metadata": {"for": "plans"}}
    )
    assert (session.mode, session.status, session.payment_status) == (
        "setup",
        "open",
        "no_payment_required",
    )
    assert session.amount_total is None and session.payment_intent is None
    intent = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert (intent.status, intent.customer) == ("requires_payment_method", maya.id)
    assert intent.metadata.to_dict() == {"for": "plans"}
    # its SetupIntent is the session's: not confirmed or canceled through the API
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.cancel(intent.id)
    assert refused.value.user_message == (
        "You can't cancel the SetupIntent for a Checkout Session. Expire the Checkout Session "
        "instead."
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert refused.value.code == "setup_intent_unexpected_state"
    # when: the customer saves a card on the page
    page = urlsplit(session.url).path
    shown = client.get(page)
    assert b"Save a card for later payments" in shown.content and b"Pay " not in shown.content
    saved = client.post(
        page,
        {
            "email": "maya@example.test",
            "card_number": "5555 5555 5555 4444",
            "expiry": "12 / 34",
            "cvc": "123",
            "name": "Maya Brooks",
        },
    )
    # then: back to the merchant, the session complete, the card the customer's
    assert saved.status_code == 302
    assert saved["Location"] == f"https://coach.test/cards/saved?session={session.id}"
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.setup_intent) == ("complete", intent.id)
    assert done.customer == maya.id
    set_up = stripe_client.v1.setup_intents.retrieve(intent.id)
    assert set_up.status == "succeeded"
    card = stripe_client.v1.payment_methods.retrieve(set_up.payment_method)
    assert (card.customer, card.card.last4) == (maya.id, "4444")
    [completed] = controls.events_of_type("checkout.session.completed")
    assert completed["data"]["object"]["setup_intent"] == intent.id
    assert events_of(intent.id) == ["setup_intent.created", "setup_intent.succeeded"]
    assert not controls.events_of_type("payment_intent.created")


def test_a_setup_session_keeps_a_declined_or_unauthenticated_card_out(stripe_client, sandbox):
    from payments.sandbox.checkout import PaymentDeclined

    session = setup_session(stripe_client, customer_creation="always")
    with pytest.raises(PaymentDeclined) as declined:
        controls.pay_checkout_session(session.id, card="4000000000009995")
    assert declined.value.decline_code == "insufficient_funds"
    with pytest.raises(PaymentDeclined) as failed:
        controls.pay_checkout_session(session.id, card="4000002500003155", authenticate=False)
    assert failed.value.code == "setup_intent_authentication_failure"
    waiting = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert waiting.status == "open"
    intent = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert intent.last_setup_error.code == "setup_intent_authentication_failure"
    # authenticated, the card is saved to the customer the session made
    done = controls.pay_checkout_session(session.id, card="4000002500003155", email="new@x.test")
    made = stripe_client.v1.customers.retrieve(done["customer"])
    assert made.email == "new@x.test"
    set_up = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert set_up.status == "succeeded" and set_up.customer == made.id
    assert stripe_client.v1.payment_methods.retrieve(set_up.payment_method).customer == made.id


def test_an_expired_setup_session_cancels_its_setup_intent(stripe_client, sandbox):
    session = setup_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id)
    intent = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert (intent.status, intent.cancellation_reason) == ("canceled", "abandoned")
    assert events_of(intent.id)[-1] == "setup_intent.canceled"
    # and a card saved without a customer stays no one's
    other = setup_session(stripe_client)
    controls.pay_checkout_session(other.id)
    set_up = stripe_client.v1.setup_intents.retrieve(other.setup_intent)
    assert stripe_client.v1.payment_methods.retrieve(set_up.payment_method).customer is None


@pytest.mark.stripe_wrong_requests
def test_a_setup_session_is_refused_what_setup_mode_does_not_take(stripe_client, sandbox):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(
            params={"mode": "setup", "success_url": "https://coach.test/"}
        )
    assert (refused.value.code, refused.value.param) == ("parameter_missing", "currency")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        setup_session(
            stripe_client,
            line_items=[
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 100,
                        "product_data": {"name": "A session"},
                    },
                    "quantity": 1,
                }
            ],
        )
    assert refused.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "setup_intent_data": {"description": "x"},
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1000,
                            "product_data": {"name": "A session"},
                        },
                        "quantity": 1,
                    }
                ],
            }
        )
    assert refused.value.param == "setup_intent_data"
