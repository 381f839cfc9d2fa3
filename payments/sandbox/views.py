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
