"""The charge object: the card charges Checkout makes, and the ``py_`` payments a transfer
makes on a connected account."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from payments.sandbox import store


def card_details(card: dict[str, Any]) -> dict[str, Any]:
    number = card["number"]
    brand = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}.get(number[0], "visa")
    return {
        "amount_authorized": None,
        "authorization_code": None,
        "brand": brand,
        "capture_before": None,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "description": None,
        "electronic_commerce_indicator": None,
        "exp_month": card.get("exp_month", 12),
        "exp_year": card.get("exp_year", 2034),
        "extended_authorization": None,
        "fingerprint": "fp" + number[-8:],
        "funding": "credit",
        "iin": number[:6],
        "incremental_authorization": None,
        "installments": None,
        "issuer": "Stripe Test (multi-country)",
        "last4": number[-4:],
        "mandate": None,
        "moto": None,
        "multicapture": None,
        "network": brand,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": None,
        "regulated_status": "unregulated",
        "setup_credential_usage": None,
        "stored_credential_usage": None,
        "three_d_secure": {
            "authentication_flow": "challenge",
            "result": "authenticated",
            "version": "2.2.0",
        }
        if card.get("three_d_secure")
        else None,
        "transaction_link_id": None,
        "wallet": None,
    }


def charge_shape(
    *,
    prefix: str,
    amount: int,
    currency: str,
    payment_intent: str | None,
    card: dict[str, Any] | None,
    billing: dict[str, Any] | None = None,
    status: str = "succeeded",
    failure: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    description: str | None = None,
    receipt_email: str | None = None,
    transfer_data: dict[str, Any] | None = None,
    on_behalf_of: str | None = None,
    transfer_group: str | None = None,
    application_fee_amount: int | None = None,
    source_transfer: str | None = None,
    statement_descriptor: str | None = None,
) -> dict[str, Any]:
    charge_id = store.new_id(prefix)
    succeeded = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": application_fee_amount,
        "authorization_code": None,
        "balance_transaction": None,
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": (billing or {}).get("email"),
            "name": (billing or {}).get("name"),
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": statement_descriptor or "COACH CONNECT",
        "captured": succeeded,
        "created": store.now(),
        "currency": currency,
        "customer": None,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": (failure or {}).get("code"),
        "failure_message": (failure or {}).get("message"),
        "fraud_details": {},
        "level3": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "on_behalf_of": on_behalf_of,
        "outcome": {
            "advice_code": (failure or {}).get("advice_code"),
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": (failure or {}).get("decline_code"),
            "risk_level": "normal",
            "risk_score": 20,
            "rule": None,
            "seller_message": "Payment complete."
            if succeeded
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if succeeded else "issuer_declined",
        },
        "paid": succeeded,
        "payment_intent": payment_intent,
        "payment_method": store.new_id("pm_") if card else None,
        "payment_method_details": {"card": card_details(card), "type": "card"} if card else None,
        "presentment_details": None,
        "radar_options": {},
        "receipt_email": receipt_email,
        "receipt_number": None,
        "receipt_url": f"{settings.SITE_URL}/_stripe/receipts/{charge_id}" if succeeded else None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": source_transfer,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer": None,
        "transfer_data": transfer_data,
        "transfer_group": transfer_group,
    }
