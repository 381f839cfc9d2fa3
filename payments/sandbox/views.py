"""HTTP entry to the local Stripe's API (``/_stripe/v1/...``) and its hosted pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from payments.sandbox import api


@csrf_exempt
def api_view(request: HttpRequest, path: str) -> HttpResponse:
    """Every ``/_stripe/v1/...`` request, answered by the same ``api.handle`` as in tests."""
    headers = {key: value for key, value in request.headers.items()}
    response = api.handle(
        request.method or "GET",
        f"/v1/{path}",
        request.META.get("QUERY_STRING", ""),
        request.body,
        headers,
    )
    answer = HttpResponse(
        response.content(), status=response.status, content_type="application/json"
    )
    for key, value in response.headers.items():
        if key.lower() != "content-type":
            answer[key] = value
    return answer


# --- hosted pages --------------------------------------------------------------------------
# Plain pages a browser visits, marked "Test mode — local Stripe". The same functions as the
# controls (``payments.sandbox.controls``) do the work.


def _sandbox_page(
    request: HttpRequest, template: str, context: dict, status: int = 200
) -> HttpResponse:
    from django.shortcuts import render

    return render(request, f"stripe_sandbox/{template}", context, status=status)


def onboarding(request: HttpRequest, token: str) -> HttpResponse:
    """The account link's page: fill in the individual and bank account, pick an outcome."""
    import secrets

    from django.db import transaction
    from django.shortcuts import redirect

    from payments.sandbox import accounts, errors
    from payments.sandbox.forms import OnboardingForm

    with transaction.atomic():
        try:
            link, refresh = accounts.account_link_open(token=token)
        except errors.StripeError:
            return _sandbox_page(request, "link_invalid.html", {}, status=404)
        if request.method == "POST":
            form = OnboardingForm(request.POST)
            session = link.internal.get("session")
            if not session or request.POST.get("session") != session:
                return _sandbox_page(request, "link_invalid.html", {"expired": True}, status=400)
            if form.is_valid():
                data = form.cleaned_data
                dob = data["date_of_birth"]
                accounts.onboarding_complete(
                    account_id=link.internal["account"],
                    outcome=data["outcome"],
                    individual={
                        "first_name": data["first_name"],
                        "last_name": data["last_name"],
                        "phone": data["phone"],
                        "dob": {"day": dob.day, "month": dob.month, "year": dob.year},
                        "address": {
                            "line1": data["address_line1"],
                            "city": data["city"],
                            "state": data["state"],
                            "postal_code": data["postal_code"],
                        },
                    },
                    bank_account={
                        "routing_number": data["routing_number"],
                        "account_number": data["account_number"],
                    },
                    ip=request.META.get("REMOTE_ADDR", "127.0.0.1"),
                )
                link.internal["session"] = ""
                link.save(update_fields=["internal"])
                return_url = link.internal["return_url"]
                if return_url:
                    return redirect(return_url)
                return _sandbox_page(request, "onboarding_done.html", {"link": link})
        else:
            if refresh is not None or link.internal["used"]:
                if refresh:
                    return redirect(refresh)
                return _sandbox_page(request, "link_invalid.html", {"expired": True}, status=410)
            link.internal["used"] = True
            link.internal["session"] = secrets.token_urlsafe(24)
            link.save(update_fields=["internal"])
            account = accounts.get_account(link.internal["account"]).data
            form = OnboardingForm(
                initial={"session": link.internal["session"], "email": account.get("email")}
            )
    account = accounts.get_account(link.internal["account"]).data
    return _sandbox_page(
        request,
        "onboarding.html",
        {"form": form, "account": account, "link_type": link.internal["type"]},
    )


def express_dashboard(request: HttpRequest, token: str) -> HttpResponse:
    """The Express dashboard a login link opens: balance, payouts and the payout schedule."""
    from payments.sandbox import accounts, errors, selectors

    try:
        account_id = accounts.login_link_open(token=token)
    except errors.StripeError:
        return _sandbox_page(request, "link_invalid.html", {}, status=404)
    if account_id is None:
        return _sandbox_page(request, "link_invalid.html", {"expired": True}, status=410)
    return _sandbox_page(
        request, "express.html", selectors.express_dashboard(account_id=account_id)
    )


def _checkout_context(session_id: str) -> dict | None:
    from payments.sandbox import store
    from payments.sandbox.models import StripeObject

    row = StripeObject.objects.filter(stripe_id=session_id, object_type="checkout.session").first()
    if row is None:
        return None
    from marketplace.money import format_money

    session = row.data
    items = [
        {**item, "amount_display": format_money(item["amount_total"], item["currency"])}
        for item in row.internal["line_items"]
    ]
    return {
        "session": session,
        "items": items,
        "total_display": format_money(session["amount_total"], session["currency"]),
        "expired": session["status"] == "open" and store.now() > session["expires_at"],
    }


def _success_redirect(session: dict) -> HttpResponse:
    from django.shortcuts import redirect

    if session.get("success_url"):
        return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
    return redirect("stripe_sandbox:checkout", session_id=session["id"])


def checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The hosted Checkout page: card number, expiry, CVC; Stripe's test cards decide."""
    from django.db import transaction

    from payments.sandbox import checkout as checkout_service
    from payments.sandbox import errors
    from payments.sandbox.forms import CardForm

    context = _checkout_context(session_id)
    if context is None:
        return _sandbox_page(request, "checkout_missing.html", {}, status=404)
    session = context["session"]
    form = CardForm(initial={"email": session.get("customer_email")})
    if request.method == "POST" and session["status"] == "open":
        form = CardForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            month, year = (int(part) for part in data["expiry"].split("/"))
            rule = checkout_service.TEST_CARDS.get(data["card_number"], {})
            if rule.get("outcome") == "authenticate":
                request.session[f"stripe_sandbox_card_{session_id}"] = {
                    "number": data["card_number"],
                    "email": data["email"],
                    "name": data["name"],
                    "exp_month": month,
                    "exp_year": 2000 + year,
                }
                return _sandbox_page(request, "checkout_authenticate.html", context)
            try:
                with transaction.atomic():
                    paid = checkout_service.session_pay(
                        session_id=session_id,
                        card_number=data["card_number"],
                        email=data["email"] or None,
                        name=data["name"] or None,
                        exp_month=month,
                        exp_year=2000 + year,
                    )
                return _success_redirect(paid)
            except checkout_service.PaymentDeclined as declined:
                form.add_error(None, declined.message)
            except errors.StripeError as error:
                form.add_error(None, error.message)
            context = _checkout_context(session_id) or context
    context["form"] = form
    context["test_cards"] = [
        ("4242 4242 4242 4242", "succeeds"),
        ("4000 0000 0000 0002", "declined (card_declined)"),
        ("4000 0000 0000 9995", "declined (insufficient_funds)"),
        ("4000 0025 0000 3155", "asks for authentication"),
        ("4000 0000 0000 0259", "succeeds, then disputed"),
    ]
    return _sandbox_page(request, "checkout.html", context)


def checkout_authenticate(request: HttpRequest, session_id: str) -> HttpResponse:
    """The 3D Secure test page: approve or fail the authentication."""
    from django.db import transaction
    from django.shortcuts import redirect

    from payments.sandbox import checkout as checkout_service
    from payments.sandbox import errors

    if request.method != "POST":
        return redirect("stripe_sandbox:checkout", session_id=session_id)
    card = request.session.pop(f"stripe_sandbox_card_{session_id}", None)
    context = _checkout_context(session_id)
    if context is None or card is None:
        return redirect("stripe_sandbox:checkout", session_id=session_id)
    approve = request.POST.get("action") == "complete"
    from payments.sandbox.forms import CardForm

    form = CardForm(initial={"email": card["email"]})
    try:
        with transaction.atomic():
            paid = checkout_service.session_pay(
                session_id=session_id,
                card_number=card["number"],
                authenticate=approve,
                email=card["email"] or None,
                name=card["name"] or None,
                exp_month=card["exp_month"],
                exp_year=card["exp_year"],
            )
        return _success_redirect(paid)
    except checkout_service.PaymentDeclined as declined:
        form.add_error(None, declined.message)
    except errors.StripeError as error:
        form.add_error(None, error.message)
    context = _checkout_context(session_id) or context
    context["form"] = form
    return _sandbox_page(request, "checkout.html", context)
