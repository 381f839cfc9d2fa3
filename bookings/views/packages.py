"""Packages: buying one, a purchase's page, refunding its unused sessions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bookings import selectors
from bookings.models import Package, PackagePurchase
from bookings.services import checkout, packages
from marketplace.errors import DomainError
from marketplace.money import format_money


@login_required
@require_POST
def package_buy(request: HttpRequest, pk: int) -> HttpResponse:
    package = get_object_or_404(Package.objects.select_related("coach__user"), pk=pk)
    try:
        _purchase, payment = packages.package_purchase_start(
            client=request.user,  # type: ignore[arg-type]
            package=package,
            urls=checkout.CheckoutUrls(
                success_url=request.build_absolute_uri(reverse("bookings:my_sessions")),
                cancel_url=request.build_absolute_uri(package.coach.get_absolute_url()),
            ),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(package.coach.get_absolute_url())
    return HttpResponseRedirect(payment.checkout_url, status=303)


@login_required
def package_purchase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    purchase = get_object_or_404(
        PackagePurchase.objects.select_related("package__session_type", "coach__user"),
        pk=pk,
        client_id=request.user.pk,
    )
    return render(
        request,
        "bookings/package_purchase.html",
        {
            "purchase": purchase,
            "price": format_money(purchase.price, purchase.currency),
            "used": selectors.package_sessions_used(purchase),
            "bookings": purchase.bookings.order_by("starts_at"),
        },
    )


@login_required
@require_POST
def package_refund(request: HttpRequest, pk: int) -> HttpResponse:
    purchase = get_object_or_404(PackagePurchase, pk=pk, client_id=request.user.pk)
    try:
        packages.package_refund_unused(purchase=purchase, by=request.user)  # type: ignore[arg-type]
        messages.success(request, "The unused sessions are refunded.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("bookings:package_purchase", pk=purchase.pk)
