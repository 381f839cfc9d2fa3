"""PaymentIntents, and paying a Checkout Session as its hosted page does: Stripe's test cards
decide whether the charge succeeds (and settles, with its destination-charge effects), is
declined, asks for authentication first, or is disputed afterwards."""

from __future__ import annotations

from typing import Any

from payments.sandbox import billing, customers, errors, events, setup_intents, store
from payments.sandbox.cards import TEST_CARDS
from payments.sandbox.checkout import PaymentDeclined, card_payment_method_options, expire_session
from payments.sandbox.ledger import charges, disputes, settlement
from payments.sandbox.models import StripeObject


def _intent(session: dict[str, Any], intent_data: dict[str, Any]) -> dict[str, Any]:
    intent_id = store.new_id("pi_")
    transfer_data = intent_data.get("transfer_data")
    transfer_group = intent_data.get("transfer_group")
    if transfer_data and not transfer_group:
        transfer_group = f"group_{intent_id}"
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": session["amount_total"],
        "amount_capturable": 0,
        "allowed_payment_method_types": None,
        "amount_details": {
            "discount_amount": None,
            "error": None,
            "shipping": None,
            "tax": None,
            "tip": {"amount": None},
        },
        "amount_received": 0,
        "application": None,
        "application_fee_amount": intent_data.get("application_fee_amount"),
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": intent_data.get("capture_method", "automatic"),
        "client_secret": f"{intent_id}_secret_{store.new_id('', 24)}",
        "confirmation_method": "automatic",
        "created": store.now(),
        "currency": session["currency"],
        "customer": session.get("customer"),
        "customer_account": None,
        "description": intent_data.get("description"),
        "excluded_payment_method_types": None,
        "hooks": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(intent_data.get("metadata") or {}),
        "next_action": None,
        "on_behalf_of": intent_data.get("on_behalf_of"),
        "payment_details": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                **card_payment_method_options(),
                "mandate_options": None,
                "network": None,
                "require_cvc_recollection": None,
            }
        },
        "payment_method_types": ["card"],
        "payment_record": None,
        "presentment_details": None,
        "processing": None,
        "receipt_email": intent_data.get("receipt_email"),
        "review": None,
        "setup_future_usage": intent_data.get("setup_future_usage"),
        "shipping": None,
        "source": None,
        "statement_descriptor": intent_data.get("statement_descriptor"),
        "statement_descriptor_suffix": intent_data.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": (
            {
                "amount": transfer_data.get("amount"),
                "description": None,
                "destination": transfer_data["destination"],
                "metadata": {},
                "payment_data": None,
            }
            if transfer_data
            else None
        ),
        "transfer_group": transfer_group,
    }


def _customer_for(session: dict[str, Any], *, email: str | None, name: str | None) -> str | None:
    """The session's customer; made now when the session creates one (``customer_creation=
    always``, or an invoice to make)."""
    if session["customer"]:
        return str(session["customer"])
    if session["customer_creation"] == "always" or (session["invoice_creation"] or {}).get(
        "enabled"
    ):
        session["customer"] = customers.customer_create(params={"email": email, "name": name})["id"]
        return str(session["customer"])
    return None


AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)


def _setup_session_pay(
    row: StripeObject,
    *,
    number: str,
    exp_month: int,
    exp_year: int,
    email: str | None,
    name: str | None,
    saved: StripeObject | None,
    authenticate: bool,
) -> tuple[dict[str, Any], PaymentDeclined | None]:
    """Save a card on a ``mode=setup`` session: its SetupIntent is confirmed with the card
    (attached to the session's customer, or to the one ``customer_creation=always`` makes;
    to no one otherwise) and the session completes. A declined card, or a failed
    authentication, leaves the session open with the failure on the SetupIntent."""
    session = row.data
    if saved is None and number not in TEST_CARDS:
        return session, PaymentDeclined(
            "Your card was declined. Your request was in test mode, but used a non test card. "
            "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
            code="card_declined",
            decline_code="test_mode_live_card",
        )
    method = saved
    if method is None:
        method = customers.card_payment_method(
            number=number, exp_month=exp_month, exp_year=exp_year, name=name, email=email
        )
        method.data["allow_redisplay"] = "limited"
        store.save(method)
    outcome = setup_intents.setup_outcome(method)
    succeeds = outcome == "succeed" or (outcome == "authenticate" and authenticate)
    if succeeds and not session["customer"] and session["customer_creation"] == "always":
        # the customer is made when the session completes, with what the page collected
        session["customer"] = customers.customer_create(params={"email": email, "name": name})["id"]
    intent = setup_intents.setup_intent_row(session["setup_intent"], lock=True)
    if intent.data["customer"] != session["customer"]:
        intent.data["customer"] = session["customer"]
        store.save(intent)
    try:
        done = setup_intents.setup_intent_confirm(
            setup_intent_id=intent.stripe_id,
            params={"payment_method": method.stripe_id},
            from_checkout=True,
        )
    except errors.CommittedError as declined:
        store.save(row)
        return session, PaymentDeclined(
            declined.message, declined.code or "card_declined", declined.extra.get("decline_code")
        )
    if done["status"] == "requires_action":
        done = setup_intents.setup_intent_authenticate(
            setup_intent_id=intent.stripe_id, succeed=authenticate
        )
        if done["status"] != "succeeded":
            store.save(row)
            return session, PaymentDeclined(
                AUTHENTICATION_FAILED, "setup_intent_authentication_failure"
            )
    session.update(
        {
            "status": "complete",
            "url": None,
            "customer_details": {
                "address": None,
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        }
    )
    store.save(row)
    events.record("checkout.session.completed", session)
    return session, None


def session_pay(
    *,
    session_id: str,
    card_number: str,
    authenticate: bool = True,
    email: str | None = None,
    name: str | None = None,
    exp_month: int = 12,
    exp_year: int = 2034,
    save_card: bool = False,
    saved_payment_method: str | None = None,
) -> tuple[dict[str, Any], PaymentDeclined | None]:
    """Pay an open session as the hosted Checkout page does: with a card number, or with one
    of the session's customer's saved cards (``saved_payment_method``); ``save_card`` is the
    customer's consent to save the card (offered when the session's
    ``saved_payment_method_options[payment_method_save]`` is enabled).

    Returns the session and, when the card was declined or authentication failed, the
    ``PaymentDeclined`` to show (the session stays open, as on Stripe; the failed intent and
    charge are recorded, so the caller commits before raising it). Raises ``StripeError``
    when the session cannot be paid (expired, complete)."""
    number = "".join(card_number.split())
    row = store.get(session_id, "checkout.session", account="", lock=True, kind="checkout.session")
    session = row.data
    if session["status"] == "open" and store.now() > session["expires_at"]:
        expire_session(row)
    if session["status"] != "open":
        raise errors.StripeError(
            f"This Checkout Session is {session['status']}.", code="checkout_session_not_open"
        )
    saved = None
    if saved_payment_method:
        saved = store.find(saved_payment_method)
        if (
            saved is None
            or saved.object_type != "payment_method"
            or session["customer"] is None
            or saved.data["customer"] != session["customer"]
        ):
            raise errors.invalid(
                "payment_method", "This payment method is not available for this session."
            )
        number = customers.card_number(saved)
        exp_month, exp_year = saved.data["card"]["exp_month"], saved.data["card"]["exp_year"]
    if session["mode"] == "setup":
        return _setup_session_pay(
            row,
            number=number,
            exp_month=exp_month,
            exp_year=exp_year,
            email=email or session.get("customer_email"),
            name=name,
            saved=saved,
            authenticate=authenticate,
        )
    if session["mode"] == "subscription":
        return billing.checkout_subscription_pay(
            row,
            number=number,
            exp_month=exp_month,
            exp_year=exp_year,
            email=email or session.get("customer_email"),
            name=name,
            saved=saved,
            authenticate=authenticate,
        )
    card_rule = TEST_CARDS.get(number)
    if card_rule is None:
        raise PaymentDeclined(
            "Your card was declined. Your request was in test mode, but used a non test card. "
            "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
            code="card_declined",
            decline_code="test_mode_live_card",
        )
    intent_data = row.internal.get("payment_intent_data") or {}
    email = email or session.get("customer_email")
    if session["payment_intent"]:
        intent_row = store.get(session["payment_intent"], "payment_intent", lock=True)
        intent = intent_row.data
    else:
        intent = _intent(session, intent_data)
        intent_row = store.insert(intent)
        session["payment_intent"] = intent["id"]
        store.save(row)
        events.record("payment_intent.created", intent)
    card = {
        "number": number,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "three_d_secure": card_rule["outcome"] == "authenticate",
    }
    failure: dict[str, Any] | None = None
    if card_rule["outcome"] == "decline":
        failure = {
            "code": card_rule["code"],
            "decline_code": card_rule["decline_code"],
            "message": card_rule["message"],
        }
    elif card_rule["outcome"] == "authenticate" and not authenticate:
        failure = {
            "code": "payment_intent_authentication_failure",
            "decline_code": None,
            "message": "We are unable to authenticate your payment method. Please choose a "
            "different payment method and try again.",
        }
    charge = charges.charge_shape(
        prefix="ch_",
        amount=intent["amount"],
        currency=intent["currency"],
        payment_intent=intent["id"],
        card=card,
        billing={"email": email, "name": name},
        status="failed" if failure else "succeeded",
        failure=failure,
        metadata=intent["metadata"],
        description=intent["description"],
        receipt_email=intent["receipt_email"] or email,
        transfer_data=intent["transfer_data"],
        on_behalf_of=intent["on_behalf_of"],
        transfer_group=intent["transfer_group"],
        application_fee_amount=intent["application_fee_amount"],
        statement_descriptor=intent["statement_descriptor"],
    )
    if saved is not None:
        charge["payment_method"] = saved.stripe_id
        charge["customer"] = session["customer"]
    intent["latest_charge"] = charge["id"]
    intent["payment_method"] = charge["payment_method"]
    if failure:
        if failure["code"] == "payment_intent_authentication_failure":
            # No charge is made when authentication fails, as on Stripe.
            intent["latest_charge"] = None
        else:
            store.insert(charge)
            events.record("charge.failed", charge)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "advice_code": None,
            "charge": charge["id"]
            if failure["code"] != "payment_intent_authentication_failure"
            else None,
            "code": failure["code"],
            "decline_code": failure["decline_code"],
            "doc_url": f"https://stripe.com/docs/error-codes/{failure['code'].replace('_', '-')}",
            "message": failure["message"],
            "param": None,
            "payment_method": {
                "id": charge["payment_method"],
                "object": "payment_method",
                "type": "card",
            },
            "type": "card_error"
            if failure["code"] != "payment_intent_authentication_failure"
            else "invalid_request_error",
        }
        intent_row.data = intent
        store.save(intent_row)
        events.record("payment_intent.payment_failed", intent)
        return session, PaymentDeclined(
            failure["message"], failure["code"], failure["decline_code"]
        )
    customer_id = _customer_for(session, email=email, name=name)
    if customer_id is not None:
        charge["customer"] = intent["customer"] = customer_id
        wants_saving = intent_data.get("setup_future_usage") or (
            save_card
            and (session["saved_payment_method_options"] or {}).get("payment_method_save")
            == "enabled"
        )
        if saved is None and wants_saving:
            method = customers.card_payment_method(
                number=number, exp_month=exp_month, exp_year=exp_year, name=name, email=email
            )
            # a card saved with the customer's consent is shown to them again ("always")
            method.data["allow_redisplay"] = "always" if save_card else "limited"
            store.save(method)
            customers.payment_method_attach(
                payment_method_id=method.stripe_id, customer_id=customer_id
            )
            charge["payment_method"] = intent["payment_method"] = method.stripe_id
    charge = settlement.settle_charge(
        charge=charge, available_immediately=bool(card_rule.get("available_immediately"))
    )
    if card_rule.get("refund_outcome"):
        StripeObject.objects.filter(stripe_id=charge["id"]).update(
            internal={"refund_outcome": card_rule["refund_outcome"]}
        )
    intent.update(
        {"status": "succeeded", "amount_received": intent["amount"], "last_payment_error": None}
    )
    intent_row.data = intent
    store.save(intent_row)
    events.record("payment_intent.succeeded", intent)
    session.update(
        {
            "status": "complete",
            "payment_status": "paid",
            "url": None,
            "customer_details": {
                "address": {
                    "city": None,
                    "country": "US",
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        }
    )
    if (session["invoice_creation"] or {}).get("enabled"):
        session["invoice"] = billing.checkout_invoice(
            session, row.internal["line_items"], payment_intent=intent["id"]
        )
    store.save(row)
    events.record("checkout.session.completed", session)
    if card_rule.get("dispute"):
        disputes.dispute_create(charge_id=charge["id"])
    return session, None
