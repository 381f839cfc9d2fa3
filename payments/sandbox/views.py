"""HTTP entry to the local Stripe's API (``/_stripe/v1/...``) and its hosted pages.

The hosted pages are plain pages marked "Test mode — local Stripe"; they call the same
functions as ``payments.sandbox.controls``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from marketplace.money import format_money
from payments.sandbox import (
    account_links,
    accounts,
    api,
    billing_portal,
    customers,
    errors,
    invoice_documents,
    payment_intents,
    selectors,
    setup_intents,
    store,
)
from payments.sandbox import onboarding as onboarding_service
from payments.sandbox.forms import CardForm, OnboardingForm, OutcomesForm
from payments.sandbox.models import StripeObject


def sandbox_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Nothing under ``/_stripe/`` exists when the product talks to real Stripe."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.STRIPE_SANDBOX:
            raise Http404("The local Stripe is off: STRIPE_SECRET_KEY is set.")
        return view(request, *args, **kwargs)

    return guarded


TEST_CARDS_SHOWN = [
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "declined (card_declined)"),
    ("4000 0000 0000 9995", "declined (insufficient_funds)"),
    ("4000 0025 0000 3155", "asks for authentication"),
    ("4000 0000 0000 0259", "succeeds, then disputed"),
]


@csrf_exempt
@sandbox_only
def api_view(request: HttpRequest, path: str) -> HttpResponse:
    """Every ``/_stripe/v1/...`` request, answered by the same ``api.handle`` as in tests."""
    response = api.handle(
        request.method or "GET",
        f"/v1/{path}",
        request.META.get("QUERY_STRING", ""),
        request.body,
        dict(request.headers.items()),
    )
    if response.lost:
        # The work is done and committed; the answer does not arrive. Over HTTP the nearest
        # is what a proxy answers when its upstream connection drops: 502 with no Stripe body
        # (the library retries it with the same idempotency key).
        return HttpResponse(status=502, content=b"", content_type="text/plain")
    answer = HttpResponse(
        response.content(), status=response.status, content_type="application/json"
    )
    for key, value in response.headers.items():
        if key.lower() != "content-type":
            answer[key] = value
    return answer


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"stripe_sandbox/{template}", context, status=status)


# --- onboarding ----------------------------------------------------------------------------


@sandbox_only
@require_http_methods(["GET", "POST"])
def onboarding(request: HttpRequest, token: str) -> HttpResponse:
    """The account link's page: the individual and bank account, and an outcome to choose.

    An account link works once: the first visit uses it (a form session keeps the page
    usable until it is submitted); an expired or used link sends the browser to
    ``refresh_url``, as Stripe does."""
    with transaction.atomic():
        try:
            link, refresh = account_links.account_link_open(token=token)
        except errors.StripeError:
            return _page(request, "link_invalid.html", {}, status=404)
        country = accounts.get_account(link.internal["account"]).data["country"]
        if request.method == "POST":
            form = OnboardingForm(request.POST, country=country)
            session = link.internal.get("session")
            if not session or request.POST.get("session") != session:
                return _page(request, "link_invalid.html", {"expired": True}, status=400)
            if form.is_valid():
                _submit_onboarding(request, link, form)
                if link.internal["return_url"]:
                    return redirect(link.internal["return_url"])
                return _page(request, "onboarding_done.html", {})
        else:
            if refresh is not None or link.internal["used"]:
                if refresh:
                    return redirect(refresh)
                return _page(request, "link_invalid.html", {"expired": True}, status=410)
            link.internal["used"] = True
            link.internal["session"] = secrets.token_urlsafe(24)
            link.save(update_fields=["internal"])
            account = accounts.get_account(link.internal["account"]).data
            form = OnboardingForm(
                initial={"session": link.internal["session"], "email": account.get("email")},
                country=country,
            )
    account = accounts.get_account(link.internal["account"]).data
    return _page(
        request,
        "onboarding.html",
        {"form": form, "account": account, "link_type": link.internal["type"]},
    )


def _submit_onboarding(request: HttpRequest, link: StripeObject, form: OnboardingForm) -> None:
    data = form.cleaned_data
    dob = data["date_of_birth"]
    onboarding_service.onboarding_complete(
        account_id=link.internal["account"],
        outcome=data["outcome"],
        individual={
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "phone": data["phone"],
            "dob": {"day": dob.day, "month": dob.month, "year": dob.year},
            "address": form.address(),
        },
        bank_account=form.bank_account(),
        ip=request.META.get("REMOTE_ADDR", "127.0.0.1"),
    )
    link.internal["session"] = ""
    link.save(update_fields=["internal"])


# --- Express dashboard ---------------------------------------------------------------------


@sandbox_only
def express_dashboard(request: HttpRequest, token: str) -> HttpResponse:
    """The Express dashboard a login link opens: balance, payouts and the payout schedule."""
    try:
        account_id = account_links.login_link_open(token=token)
    except errors.StripeError:
        return _page(request, "link_invalid.html", {}, status=404)
    if account_id is None:
        return _page(request, "link_invalid.html", {"expired": True}, status=410)
    return _page(request, "express.html", selectors.express_dashboard(account_id=account_id))


# --- Checkout ------------------------------------------------------------------------------


def _checkout_context(session_id: str) -> dict[str, Any] | None:
    row = StripeObject.objects.filter(stripe_id=session_id, object_type="checkout.session").first()
    if row is None:
        return None
    session = row.data
    items = [
        {**item, "amount_display": format_money(item["amount_total"], item["currency"])}
        for item in row.internal["line_items"]
    ]
    options = session.get("saved_payment_method_options") or {}
    saved_cards = (
        list(
            StripeObject.objects.filter(
                object_type="payment_method",
                data__customer=session["customer"],
                data__allow_redisplay__in=options.get("allow_redisplay_filters") or ["always"],
            )
            .order_by("-created", "-id")
            .values_list("data", flat=True)
        )
        if session.get("customer")
        else []
    )
    return {
        "session": session,
        "items": items,
        "total_display": format_money(session["amount_total"], session["currency"])
        if session["amount_total"] is not None
        else "",
        "expired": session["status"] == "open" and store.now() > session["expires_at"],
        "test_cards": TEST_CARDS_SHOWN,
        "saved_cards": saved_cards,
        "offer_save": session["mode"] == "payment"
        and options.get("payment_method_save") == "enabled",
        "subscription": session["mode"] == "subscription",
        "setup": session["mode"] == "setup",
        "per_period": _per_period(items),
    }


def _per_period(items: list[dict[str, Any]]) -> str:
    """ "a month", "every 3 months": how often a subscription's first recurring price bills."""
    recurring = next((i["price"]["recurring"] for i in items if i["price"]["recurring"]), None)
    if recurring is None:
        return ""
    count, interval = recurring["interval_count"], recurring["interval"]
    return f"a {interval}" if count == 1 else f"every {count} {interval}s"


def _success_redirect(session: dict[str, Any]) -> HttpResponse:
    if session.get("success_url"):
        return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
    return redirect("stripe_sandbox:checkout", session_id=session["id"])


def _pay(
    session_id: str, card: dict[str, Any], authenticate: bool = True
) -> tuple[HttpResponse | None, str]:
    """Pay; returns the redirect to ``success_url``, or the message of a decline (which is
    committed first: the intent and the failed charge are recorded, as on Stripe)."""
    try:
        with transaction.atomic():
            paid, declined = payment_intents.session_pay(
                session_id=session_id,
                card_number=card["number"],
                authenticate=authenticate,
                email=card["email"] or None,
                name=card["name"] or None,
                exp_month=card["exp_month"],
                exp_year=card["exp_year"],
                save_card=bool(card.get("save_card")),
                saved_payment_method=card.get("saved_payment_method"),
            )
    except errors.StripeError as error:
        return None, error.message
    if declined is not None:
        return None, declined.message
    return _success_redirect(paid), ""


@sandbox_only
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The hosted Checkout page: card number, expiry, CVC; Stripe's test cards decide."""
    context = _checkout_context(session_id)
    if context is None:
        return _page(request, "checkout_missing.html", {}, status=404)
    session = context["session"]
    form = CardForm(initial={"email": session.get("customer_email")})
    saved_choice = request.POST.get("saved_payment_method", "") if request.method == "POST" else ""
    if saved_choice and session["status"] == "open":
        # a saved card of the session's customer: no number to type
        if saved_choice not in {card["id"] for card in context["saved_cards"]}:
            context["payment_error"] = "That card is not available for this payment."
        else:
            done, context["payment_error"] = _pay(
                session_id,
                {
                    "number": "",
                    "email": "",
                    "name": "",
                    "exp_month": 0,
                    "exp_year": 0,
                    "saved_payment_method": saved_choice,
                },
            )
            if done is not None:
                return done
    elif request.method == "POST" and session["status"] == "open":
        form = CardForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            month, year = (int(part) for part in data["expiry"].split("/"))
            card = {
                "number": data["card_number"],
                "email": data["email"],
                "name": data["name"],
                "exp_month": month,
                "exp_year": 2000 + year,
                "save_card": data.get("save_card", False),
            }
            rule = payment_intents.TEST_CARDS.get(card["number"], {})
            if rule.get("outcome") == "authenticate":
                request.session[f"stripe_sandbox_card_{session_id}"] = card
                return _page(request, "checkout_authenticate.html", context)
            done, context["payment_error"] = _pay(session_id, card)
            if done is not None:
                return done
            error = context["payment_error"]
            context = {**(_checkout_context(session_id) or context), "payment_error": error}
    context["form"] = form
    return _page(request, "checkout.html", context)


@sandbox_only
@require_POST
def checkout_authenticate(request: HttpRequest, session_id: str) -> HttpResponse:
    """The 3D Secure test page's answer: complete or fail the authentication."""
    card = request.session.pop(f"stripe_sandbox_card_{session_id}", None)
    context = _checkout_context(session_id)
    if context is None or card is None:
        return redirect("stripe_sandbox:checkout", session_id=session_id)
    done, context["payment_error"] = _pay(
        session_id, card, authenticate=request.POST.get("action") == "complete"
    )
    if done is not None:
        return done
    context = {
        **(_checkout_context(session_id) or context),
        "payment_error": context["payment_error"],
    }
    context["form"] = CardForm(initial={"email": card["email"]})
    return _page(request, "checkout.html", context)


# --- SetupIntents ---------------------------------------------------------------------------


@sandbox_only
@require_http_methods(["GET", "POST"])
def setup_intent_authenticate(request: HttpRequest, setup_intent_id: str) -> HttpResponse:
    """The 3-D Secure test page of a SetupIntent in ``requires_action`` (its
    ``next_action``): complete or fail the authentication, then back to ``return_url`` with
    Stripe's ``setup_intent``, ``setup_intent_client_secret`` and ``redirect_status``."""
    row = StripeObject.objects.filter(stripe_id=setup_intent_id, object_type="setup_intent").first()
    if row is None or row.internal.get("checkout_session"):
        return _page(request, "checkout_missing.html", {}, status=404)
    intent = row.data
    method = store.find(intent["payment_method"] or "")
    context = {"intent": intent, "card": method.data["card"] if method is not None else None}
    if request.method == "GET" or intent["status"] != "requires_action":
        return _page(request, "setup_intent_authenticate.html", context)
    try:
        with transaction.atomic(), store.request_scope():
            intent = setup_intents.setup_intent_authenticate(
                setup_intent_id=setup_intent_id, succeed=request.POST.get("action") == "complete"
            )
    except errors.StripeError as error:
        return _page(request, "setup_intent_authenticate.html", {**context, "error": error.message})
    return_url = row.internal.get("return_url")
    if return_url:
        query = urlencode(
            {
                "setup_intent": intent["id"],
                "setup_intent_client_secret": intent["client_secret"],
                "redirect_status": "succeeded" if intent["status"] == "succeeded" else "failed",
            }
        )
        return redirect(f"{return_url}{'&' if '?' in return_url else '?'}{query}")
    return _page(request, "setup_intent_authenticate.html", {**context, "intent": intent})


# --- invoices ------------------------------------------------------------------------------


@sandbox_only
@require_http_methods(["GET"])
def hosted_invoice(request: HttpRequest, secret: str) -> HttpResponse:
    """An invoice's hosted page (``hosted_invoice_url``): its lines, total and status."""
    invoice = invoice_documents.invoice_by_secret(secret)
    if invoice is None:
        return _page(request, "link_invalid.html", {}, status=404)
    summary = invoice_documents.invoice_summary(invoice)
    return _page(request, "invoice.html", {"invoice": invoice, "summary": summary})


@sandbox_only
@require_http_methods(["GET"])
def hosted_invoice_pdf(request: HttpRequest, secret: str) -> HttpResponse:
    """The invoice as a PDF (``invoice_pdf``)."""
    invoice = invoice_documents.invoice_by_secret(secret)
    if invoice is None:
        return _page(request, "link_invalid.html", {}, status=404)
    response = HttpResponse(invoice_documents.invoice_pdf(invoice), content_type="application/pdf")
    name = invoice["number"] or invoice["id"]
    response["Content-Disposition"] = f'inline; filename="Invoice-{name}.pdf"'
    return response


# --- the customer portal -------------------------------------------------------------------


def _portal_context(session: dict[str, Any], configuration: dict[str, Any]) -> dict[str, Any]:
    customer = store.get(session["customer"], "customer", account="").data
    default = customer["invoice_settings"]["default_payment_method"]
    cards = [
        {**method, "is_default": method["id"] == default}
        for method in StripeObject.objects.filter(
            object_type="payment_method", data__customer=customer["id"]
        )
        .order_by("-created", "-id")
        .values_list("data", flat=True)
    ]
    features = configuration["features"]
    return {
        "session": session,
        "customer": customer,
        "cards": cards,
        "may_update_cards": features["payment_method_update"]["enabled"],
        "headline": configuration["business_profile"]["headline"],
    }


@sandbox_only
@require_http_methods(["GET", "POST"])
def billing_portal_session(request: HttpRequest, secret: str) -> HttpResponse:
    """The customer portal a session's URL opens: the customer's cards (make one the
    default, remove one, add one, when the configuration lets them) and the way back."""
    form = CardForm()
    error = ""
    with transaction.atomic(), store.request_scope():
        try:
            session, configuration = billing_portal.session_open(secret=secret)
        except billing_portal.SessionExpired:
            return _page(request, "link_invalid.html", {"expired": True}, status=410)
        except errors.StripeError:
            return _page(request, "link_invalid.html", {}, status=404)
        context = _portal_context(session, configuration)
        if request.method == "POST":
            if not context["may_update_cards"]:
                return HttpResponse("This portal does not let customers change cards.", status=403)
            action = request.POST.get("action", "")
            method_id = request.POST.get("payment_method", "")
            if action in ("default", "remove"):
                if method_id not in {card["id"] for card in context["cards"]}:
                    error = "That card is not one of yours."
                elif action == "default":
                    customers.customer_update(
                        customer_id=session["customer"],
                        params={"invoice_settings": {"default_payment_method": method_id}},
                    )
                else:
                    customers.payment_method_detach(payment_method_id=method_id)
            elif action == "add":
                form = CardForm(request.POST)
                if form.is_valid():
                    month, year = (int(part) for part in form.cleaned_data["expiry"].split("/"))
                    card = customers.card_payment_method(
                        number=form.cleaned_data["card_number"],
                        exp_month=month,
                        exp_year=2000 + year,
                        name=form.cleaned_data["name"] or None,
                        email=form.cleaned_data["email"] or None,
                    )
                    customers.payment_method_attach(
                        payment_method_id=card.stripe_id, customer_id=session["customer"]
                    )
            else:
                error = "Choose what to do."
            if not error and form.errors == {}:
                return redirect(request.path)
            context = _portal_context(session, configuration)
    return _page(request, "portal.html", {**context, "form": form, "portal_error": error})


# --- the developer page --------------------------------------------------------------------

CLOCK_STEPS = {"hour": 3600, "day": 86400, "week": 7 * 86400}
ACCOUNT_ACTIONS = ("complete", "verify", "past_due", "restrict", "deauthorize")
# Pay out the available balance (a connected account's, or the platform's), and how it ends.
PAYOUT_ACTIONS = {"payout_paid": "paid", "payout_failed": "failed", "payout_canceled": "canceled"}
PAYOUT_ACTION_LABELS = [
    ("payout_paid", "Pay out the available balance (paid when it arrives)"),
    ("payout_failed", "Pay out the available balance (fails when it arrives)"),
    ("payout_canceled", "Pay out the available balance, then cancel it"),
]


@sandbox_only
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """``/_stripe/``: the sandbox's clock, endpoints, accounts and recent events, and buttons
    for the controls (in development, or for staff)."""
    from django.contrib import messages

    from payments.sandbox import controls

    may_control = settings.DEBUG or request.user.is_staff
    if request.method == "POST":
        if not may_control:
            return HttpResponse("Only staff may use the local Stripe's controls.", status=403)
        action = request.POST.get("action", "")
        account_id = request.POST.get("account", "")
        try:
            if action in CLOCK_STEPS:
                controls.advance_clock(CLOCK_STEPS[action])
                messages.success(request, f"Sandbox clock advanced by one {action}.")
            elif action == "deliver":
                statuses = controls.deliver_pending_events()
                messages.success(request, f"Delivered {len(statuses)} pending deliveries.")
            elif action == "endpoints":
                controls.register_default_endpoints()
                messages.success(request, "Webhook endpoints registered.")
            elif action == "outcomes":
                form = OutcomesForm(request.POST)
                if not form.is_valid():
                    messages.error(request, "Outcomes not changed: " + form.errors.as_text())
                else:
                    data = form.cleaned_data
                    controls.set_refund_outcome(data["refund_outcome"])
                    controls.set_delivery_chaos(
                        shuffled=data["deliveries_shuffled"],
                        duplicate_percent=data["duplicate_percent"],
                        seed=data["chaos_seed"],
                    )
                    controls.set_lost_answers(data["lost_answer_percent"], seed=data["chaos_seed"])
                    controls.set_latency(data["latency_p50_ms"], data["latency_p95_ms"])
                    messages.success(request, "Outcomes changed.")
            elif action in ("refund_succeeded", "refund_failed") and request.POST.get("refund"):
                outcome = action.removeprefix("refund_")
                controls.settle_refund(request.POST["refund"], outcome)
                messages.success(request, f"{request.POST['refund']}: {outcome}.")
            elif action in ("dispute_won", "dispute_lost") and request.POST.get("dispute"):
                outcome = action.removeprefix("dispute_")
                controls.close_dispute(request.POST["dispute"], outcome)
                messages.success(request, f"{request.POST['dispute']}: {outcome}.")
            elif action in PAYOUT_ACTIONS and account_id:
                payout = controls.make_payout(
                    "" if account_id == "platform" else account_id,
                    outcome=PAYOUT_ACTIONS[action],
                )
                arrival = " (in transit an hour later, arrived a day later, by the sandbox clock)"
                messages.success(
                    request,
                    f"Payout {payout['id']} of "
                    f"{format_money(payout['amount'], payout['currency'])}: {payout['status']}"
                    f"{arrival if payout['status'] == 'pending' else ''}.",
                )
            elif action in ACCOUNT_ACTIONS and account_id:
                if action == "complete":
                    controls.complete_onboarding(account_id)
                elif action == "verify":
                    controls.verify_account(account_id)
                elif action == "past_due":
                    controls.update_account(
                        account_id, past_due=["individual.verification.document"]
                    )
                elif action == "restrict":
                    controls.update_account(
                        account_id,
                        disabled_reason="platform_paused",
                        charges_enabled=False,
                        payouts_enabled=False,
                    )
                else:
                    controls.update_account(account_id, deauthorize=True)
                messages.success(request, f"{account_id}: {action.replace('_', ' ')} done.")
            else:
                messages.error(request, "Unknown control.")
        except errors.StripeError as error:
            messages.error(request, error.message)
        return redirect("stripe_sandbox:dashboard")
    context = selectors.dashboard()
    context["may_control"] = may_control
    context["outcomes_form"] = OutcomesForm(initial=context["outcomes"])
    context["account_actions"] = [
        ("complete", "Complete onboarding"),
        ("verify", "Finish verification"),
        ("past_due", "Make a requirement past due"),
        ("restrict", "Restrict"),
        ("deauthorize", "Deauthorize the platform"),
        *PAYOUT_ACTION_LABELS,
    ]
    context["payout_actions"] = PAYOUT_ACTION_LABELS
    return _page(request, "dashboard.html", context)
