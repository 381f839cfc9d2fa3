"""Payments pages: the payment setup wizard, earnings (and its CSV), the webhook endpoints."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from marketplace.dates import format_month
from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.money import format_money, format_percent, to_major, to_minor
from payments import designs, selectors
from payments.errors import PaymentProviderError, WebhookRejected
from payments.forms import BusinessProfileForm, ConnectStartForm, PayoutScheduleForm
from payments.models import AccountStateChange, WebhookEndpoint
from payments.services import accounts as services
from payments.services import payees, webhooks

logger = logging.getLogger("payments")


def coach_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_coach:  # type: ignore[union-attr]
            return render(request, "payments/not_a_coach.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def payee_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Coaches, and people staff invited to receive payouts: the payment setup is theirs."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not services.may_set_up_payouts(request.user):  # type: ignore[arg-type]
            return render(request, "payments/not_a_coach.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _coach_currency(coach: User, status: selectors.ConnectStatus) -> str:
    """The currency amounts on the setup page are typed and shown in: the coach's prices'
    (what they earn), else the account's default, else the platform's."""
    return (
        services.account_holder_currency(coach)
        or status.default_currency
        or settings.PLATFORM_CURRENCY
    )


def _setup_urls() -> tuple[str, str]:
    return (
        settings.SITE_URL + reverse("payments:connect_refresh"),
        settings.SITE_URL + reverse("payments:connect_return"),
    )


def _to_stripe(link: services.HostedLink) -> HttpResponseRedirect:
    # A 303 sends the browser on with a GET, whether it came from a form post or a redirect.
    response = HttpResponseRedirect(link.url)
    response.status_code = 303
    return response


# --- the payment setup wizard -------------------------------------------------------------


@require_GET
@payee_required
def connect_setup(request: HttpRequest) -> HttpResponse:
    status = selectors.connect_status(request.user)  # type: ignore[arg-type]
    currency = _coach_currency(request.user, status)  # type: ignore[arg-type]
    schedule_form = PayoutScheduleForm(
        currency=currency,
        initial={
            "interval": status.payout_interval,
            "weekly_anchor": status.payout_weekly_anchor,
            "monthly_anchor": status.payout_monthly_anchor,
            "minimum_amount": to_major(status.payout_minimum_amount, currency),
        },
    )
    profile_form = BusinessProfileForm(
        initial={
            "url": status.business_url,
            "product_description": status.business_product_description,
        }
    )
    payee = services.is_payee_only(request.user)  # type: ignore[arg-type]
    return render(
        request,
        "payments/connect_setup.html",
        {
            "status": status,
            "payee": payee,
            "start_form": ConnectStartForm(time_zone=request.user.time_zone),  # type: ignore[union-attr]
            "country_notes": _country_notes(payee=payee),
            "schedule_form": schedule_form,
            "profile_form": profile_form,
            "currency": currency,
            "minimum_display": format_money(status.payout_minimum_amount, currency),
            "fee": _fee_terms(request.user, currency),  # type: ignore[arg-type]
        },
    )


def _country_notes(*, payee: bool = False) -> list[dict[str, str]]:
    """What each country a coach (or a payee) can choose allows, said before they start."""
    return [
        {
            "country": country,
            "name": name,
            "summary": designs.payee_summary(country=country)
            if payee
            else designs.design_for(coach_country=country).summary,
            "time_zones": " ".join(designs.COUNTRY_TIME_ZONES.get(country, ())),
        }
        for country, name in sorted(designs.SUPPORTED_COUNTRIES.items(), key=lambda item: item[1])
    ]


def _fee_terms(coach: User, currency: str) -> dict[str, str]:
    """The platform fee in words, told before onboarding: the rate, any minimum, and what
    a coach keeps of a round example price in their currency."""
    terms = services.account_holder_fee_terms(coach)
    example = to_minor(100, currency)
    fee, kept = terms.split(example)
    return {
        "rate": format_percent(terms.fee_bps),
        "membership": terms.membership,
        "minimum": format_money(terms.minimum_fee, currency) if terms.minimum_fee else "",
        "example_price": format_money(example, currency),
        "example_fee": format_money(fee, currency),
        "example_kept": format_money(kept, currency),
    }


@require_POST
@payee_required
def connect_start(request: HttpRequest) -> HttpResponse:
    """Create the Express account (once, whatever the clicks) and go to Stripe."""
    form = ConnectStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a supported country.")
        return redirect("payments:connect_setup")
    try:
        services.connected_account_create(coach=request.user, country=form.cleaned_data["country"])  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("payments:connect_setup")
    return _to_fresh_onboarding_link(request)


def _to_fresh_onboarding_link(request: HttpRequest) -> HttpResponse:
    """Send the coach to a new onboarding link, or back to the wizard with the reason."""
    refresh_url, return_url = _setup_urls()
    try:
        link = services.connected_account_onboarding_link(
            coach=request.user,  # type: ignore[arg-type]
            refresh_url=refresh_url,
            return_url=return_url,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("payments:connect_setup")
    return _to_stripe(link)


@require_POST
@payee_required
def connect_continue(request: HttpRequest) -> HttpResponse:
    """ "Continue setup": a fresh onboarding link."""
    return _to_fresh_onboarding_link(request)


@require_GET
@payee_required
def connect_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe's ``refresh_url``: the link expired or was used. Make a fresh one; never treat
    this as completion."""
    return _to_fresh_onboarding_link(request)


@require_GET
@payee_required
def connect_return(request: HttpRequest) -> HttpResponse:
    """Stripe's ``return_url``: re-read the account and show its real state (returning does
    not mean onboarding is complete)."""
    account = selectors.connected_account_for(request.user)  # type: ignore[arg-type]
    if account is not None and account.stripe_account_id:
        try:
            account = services.connected_account_refresh(
                account=account, source=AccountStateChange.Source.RETURN
            )
        except PaymentProviderError:
            messages.warning(request, "Stripe could not be reached; the status may be stale.")
        else:
            if account.can_take_charges and services.is_payee_only(request.user):  # type: ignore[arg-type]
                messages.success(request, "Your Stripe account is active: you can be paid.")
            elif account.can_take_charges:
                messages.success(request, "Your Stripe account is active: clients can pay you.")
            elif account.requirements_due:
                messages.warning(request, "Stripe still needs a few things from you (below).")
            else:
                messages.info(request, f"Status: {account.get_state_display()}.")
    return redirect("payments:connect_setup")


@require_POST
@payee_required
def connect_dashboard(request: HttpRequest) -> HttpResponse:
    """ "Open Stripe dashboard": a one-time login link into the Express dashboard."""
    try:
        link = services.connected_account_login_link(coach=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("payments:connect_setup")
    return _to_stripe(link)


@require_POST
@payee_required
def payout_schedule(request: HttpRequest) -> HttpResponse:
    status = selectors.connect_status(request.user)  # type: ignore[arg-type]
    currency = _coach_currency(request.user, status)  # type: ignore[arg-type]
    form = PayoutScheduleForm(request.POST, currency=currency)
    if form.is_valid():
        try:
            services.connected_account_update_payout_schedule(
                coach=request.user,  # type: ignore[arg-type]
                interval=form.cleaned_data["interval"],
                weekly_anchor=form.cleaned_data.get("weekly_anchor") or "",
                monthly_anchor=form.cleaned_data.get("monthly_anchor"),
                minimum_amount=form.cleaned_data.get("minimum_amount") or 0,
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Payout schedule saved at Stripe.")
            return redirect("payments:connect_setup")
    else:
        messages.error(request, "Fix the payout schedule: " + _errors(form))
    return redirect("payments:connect_setup")


@require_POST
@coach_required
def business_profile(request: HttpRequest) -> HttpResponse:
    form = BusinessProfileForm(request.POST)
    if form.is_valid():
        try:
            services.connected_account_update_business_profile(
                coach=request.user,  # type: ignore[arg-type]
                url=form.cleaned_data["url"],
                product_description=form.cleaned_data["product_description"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Business profile saved at Stripe.")
    else:
        messages.error(request, "Fix the business profile: " + _errors(form))
    return redirect("payments:connect_setup")


def _errors(form: PayoutScheduleForm | BusinessProfileForm) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else name
        parts.append(f"{label}: {' '.join(str(error) for error in errors)}")
    return "; ".join(parts)


# --- earnings -----------------------------------------------------------------------------


@require_GET
@coach_required
def earnings(request: HttpRequest) -> HttpResponse:
    error = ""
    try:
        figures = selectors.coach_earnings(
            request.user,  # type: ignore[arg-type]
            zone_name=request.viewer_time_zone,  # type: ignore[attr-defined]
        )
    except PaymentProviderError as exc:
        figures, error = None, exc.message
    context: dict = {
        "earnings": figures,
        "error": error,
        "status": None,
        "invoices": selectors.invoices_page(
            selectors.invoices_of_payee(request.user),  # type: ignore[arg-type]
            request.GET.get("invoices_page"),
        ),
    }
    if figures is None:
        context["status"] = selectors.connect_status(request.user)  # type: ignore[arg-type]
    else:
        context["charts"] = [
            {"currency": currency, **_chart(months)}
            for currency, months in figures.months_by_currency.items()
        ]
        currencies = sorted(set(figures.gross) | set(figures.net))
        context["lifetime"] = [
            {
                "currency": currency,
                "gross": format_money(figures.gross.get(currency, 0), currency),
                "fees": format_money(figures.platform_fees.get(currency, 0), currency),
                "refunds": format_money(figures.refunds.get(currency, 0), currency),
                "net": format_money(figures.net.get(currency, 0), currency),
            }
            for currency in currencies
        ]
    context["time_zone"] = request.viewer_time_zone  # type: ignore[attr-defined]
    return render(request, "payments/earnings.html", context)


@login_required
@require_GET
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """An invoice's PDF, for its payer, its payee and staff: Stripe renders it at the
    invoice's ``invoice_pdf`` address, where this sends the browser. Anyone else, and an
    invoice without a PDF yet (a draft), is 404."""
    try:
        invoice = selectors.invoice_for_viewer(
            user=request.user,  # type: ignore[arg-type]
            invoice_id=pk,
        )
    except DomainError as error:
        raise Http404(error.message) from error
    if not invoice.invoice_pdf:
        raise Http404("This invoice has no PDF yet.")
    return HttpResponseRedirect(invoice.invoice_pdf)


def _chart(months: list[selectors.MonthNet]) -> dict:
    """Bar geometry for one currency's net-by-month SVG, drawn by the template (no chart
    library)."""
    width, height, gap = 600, 200, 6
    top = max((month.amount for month in months), default=0) or 1
    bar = (width - gap * (len(months) + 1)) / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        bar_height = round(max(month.amount, 0) / top * (height - 20), 1)
        bars.append(
            {
                "x": round(gap + index * (bar + gap), 1),
                "y": round(height - bar_height, 1),
                "width": round(bar, 1),
                "height": bar_height,
                "label": format_month(month.month),
                "short": format_month(month.month, short=True),
                "text_x": round(gap + index * (bar + gap) + bar / 2, 1),
                "amount": format_money(month.amount, month.currency),
            }
        )
    return {"width": width, "height": height, "bars": bars}


@require_GET
@coach_required
def earnings_csv(request: HttpRequest) -> HttpResponse:
    try:
        figures = selectors.coach_earnings(request.user)  # type: ignore[arg-type]
    except PaymentProviderError as error:
        return HttpResponse(f"Stripe could not be reached: {error.message}", status=502)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="earnings-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "kind",
            "id",
            "date_utc",
            "amount",
            "currency",
            "amount_minor",
            "reversed_minor",
            "status",
            "arrival_date_utc",
        ]
    )
    for transfer in figures.transfers if figures else []:
        writer.writerow(
            [
                "transfer",
                transfer.id,
                transfer.created.isoformat() if transfer.created else "",
                str(to_major(transfer.amount - transfer.amount_reversed, transfer.currency)),
                transfer.currency,
                transfer.amount,
                transfer.amount_reversed,
                "reversed" if transfer.reversed else "paid",
                "",
            ]
        )
    for payout in figures.payouts if figures else []:
        writer.writerow(
            [
                "payout",
                payout.id,
                payout.created.isoformat() if payout.created else "",
                str(to_major(payout.amount, payout.currency)),
                payout.currency,
                payout.amount,
                0,
                payout.status,
                payout.arrival_date.isoformat() if payout.arrival_date else "",
            ]
        )
    return response


# --- payees and the payments they received ------------------------------------------------


@require_GET
@login_required
def payee_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """A staff invitation to receive payouts: accepted by the invited address, then on to
    the payment setup."""
    try:
        payees.payee_invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        return render(
            request,
            "payments/payee_invitation_refused.html",
            {"reason": error.message},
            status=error.status_code,
        )
    messages.success(request, "You can now set up your Stripe account to receive payments.")
    return redirect("payments:connect_setup")


@require_GET
@login_required
def payments_received(request: HttpRequest) -> HttpResponse:
    """What staff paid the signed-in person (bonuses, prizes, goodwill, corrections): each
    payout's reason, amount, status and date, their Stripe balance and the Express dashboard
    link for bank payouts."""
    user: User = request.user  # type: ignore[assignment]
    received = selectors.payouts_received(user)
    status = selectors.connect_status(user)
    balance, error = None, ""
    if status.has_account:
        try:
            balance = selectors.connected_account_balance(user)
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "payments/payments_received.html",
        {
            "received": received,
            "status": status,
            "balance": balance,
            "error": error,
            "may_set_up": services.may_set_up_payouts(user),
        },
    )


# --- webhook endpoints --------------------------------------------------------------------


def _receive(request: HttpRequest, endpoint: str) -> HttpResponse:
    signature = request.headers.get("Stripe-Signature", "")
    try:
        webhooks.webhook_event_receive(endpoint=endpoint, payload=request.body, signature=signature)
    except WebhookRejected as error:
        logger.warning("rejected a %s webhook: %s", endpoint, error)
        return HttpResponse("invalid signature or payload", status=400, content_type="text/plain")
    except OperationalError:
        # The database is busy or away: 503 makes Stripe deliver again later.
        logger.exception("could not store a %s webhook", endpoint)
        return HttpResponse("try again", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def webhook_platform(request: HttpRequest) -> HttpResponse:
    return _receive(request, WebhookEndpoint.PLATFORM)


@csrf_exempt
@require_POST
def webhook_connect(request: HttpRequest) -> HttpResponse:
    return _receive(request, WebhookEndpoint.CONNECT)
