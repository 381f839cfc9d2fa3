"""Payments API: the coach's Stripe Connect account (``/api/connect/...``).

One view per operation, explicit input and output serializers; domain errors become
``{"error": {...}}`` through the project's exception handler.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import error_responses
from marketplace.errors import NotAllowed, NotFound
from marketplace.money import MAX_CHARGE_AMOUNT
from payments import selectors
from payments.models import Payment, PayoutInterval, Weekday
from payments.services import accounts as services
from payments.services import refunds
from payments.services.accounts import SUPPORTED_COUNTRIES


class IsCoach(IsAuthenticated):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.is_coach:
            raise NotAllowed("Only coaches have a Stripe Connect account.")
        return True


class ConnectStatusOut(serializers.Serializer):
    has_account = serializers.BooleanField()
    stripe_account_id = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    charges_enabled = serializers.BooleanField()
    payouts_enabled = serializers.BooleanField()
    details_submitted = serializers.BooleanField()
    requirements = serializers.ListField(child=serializers.CharField())
    eventually_due = serializers.ListField(child=serializers.CharField())
    pending_verification = serializers.ListField(child=serializers.CharField())
    deadline = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    can_continue_setup = serializers.BooleanField()
    can_open_dashboard = serializers.BooleanField()
    payout_interval = serializers.CharField()
    payout_weekly_anchor = serializers.CharField()
    payout_monthly_anchor = serializers.IntegerField(allow_null=True)
    payout_minimum_amount = serializers.IntegerField()
    default_currency = serializers.CharField()
    business_url = serializers.CharField()
    business_product_description = serializers.CharField()
    last_checked_at = serializers.DateTimeField(allow_null=True)
    country = serializers.CharField(help_text="The account's country, as Stripe reports it")
    design_summary = serializers.CharField(help_text="What the account's country allows")


def _status(request: Request) -> dict:
    return ConnectStatusOut(selectors.connect_status(request.user)).data  # type: ignore[arg-type]


class ConnectStatusApi(APIView):
    permission_classes = [IsCoach]

    @extend_schema(responses=ConnectStatusOut, summary="The coach's Stripe account status")
    def get(self, request: Request) -> Response:
        return Response(_status(request))


class AccountCreateIn(serializers.Serializer):
    country = serializers.ChoiceField(
        choices=sorted(SUPPORTED_COUNTRIES),
        required=False,
        help_text="The country of a new account (default: the coach's time zone's, else the "
        "platform's); it cannot change once the account exists (409 country_fixed).",
    )


class AccountCreateOut(ConnectStatusOut):
    onboarding_url = serializers.URLField()


class AccountUpdateIn(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    product_description = serializers.CharField(max_length=500)


class ConnectAccountApi(APIView):
    permission_classes = [IsCoach]

    @extend_schema(
        request=AccountCreateIn,
        responses={201: AccountCreateOut, **error_responses(409, 502)},
        summary="Create the Express account (once) and get a fresh onboarding link",
    )
    def post(self, request: Request) -> Response:
        given = AccountCreateIn(data=request.data)
        given.is_valid(raise_exception=True)
        services.connected_account_create(
            coach=request.user,  # type: ignore[arg-type]
            country=given.validated_data.get("country", ""),
        )
        link = services.connected_account_onboarding_link(
            coach=request.user,  # type: ignore[arg-type]
            refresh_url=settings.SITE_URL + reverse("payments:connect_refresh"),
            return_url=settings.SITE_URL + reverse("payments:connect_return"),
        )
        return Response({**_status(request), "onboarding_url": link.url}, status=201)

    @extend_schema(
        request=AccountUpdateIn,
        responses={200: ConnectStatusOut, **error_responses(404, 409, 502)},
        summary="Update the business profile at Stripe",
    )
    def put(self, request: Request) -> Response:
        given = AccountUpdateIn(data=request.data)
        given.is_valid(raise_exception=True)
        services.connected_account_update_business_profile(
            coach=request.user,  # type: ignore[arg-type]
            url=given.validated_data["url"],
            product_description=given.validated_data["product_description"],
        )
        return Response(_status(request))


class PayoutScheduleIn(serializers.Serializer):
    interval = serializers.ChoiceField(choices=PayoutInterval.choices)
    weekly_anchor = serializers.ChoiceField(
        choices=Weekday.choices, required=False, allow_blank=True, default=""
    )
    monthly_anchor = serializers.IntegerField(
        min_value=1, max_value=31, required=False, allow_null=True, default=None
    )
    minimum_amount = serializers.IntegerField(
        min_value=0,
        max_value=MAX_CHARGE_AMOUNT,
        required=False,
        default=0,
        help_text="Minor units of the payout currency, at most 99,999,999.",
    )


class PayoutScheduleApi(APIView):
    permission_classes = [IsCoach]

    @extend_schema(
        request=PayoutScheduleIn,
        responses={200: ConnectStatusOut, **error_responses(404, 409, 502)},
        summary="Set the payout schedule at Stripe",
    )
    def post(self, request: Request) -> Response:
        given = PayoutScheduleIn(data=request.data)
        given.is_valid(raise_exception=True)
        services.connected_account_update_payout_schedule(
            coach=request.user,  # type: ignore[arg-type]
            **given.validated_data,
        )
        return Response(_status(request))


class LinkOut(serializers.Serializer):
    url = serializers.URLField()


class LoginLinkApi(APIView):
    permission_classes = [IsCoach]

    @extend_schema(
        responses={200: LinkOut, **error_responses(404, 409, 502)},
        summary="A one-time link into the Express dashboard",
    )
    def get(self, request: Request) -> Response:
        link = services.connected_account_login_link(coach=request.user)  # type: ignore[arg-type]
        return Response({"url": link.url})


class AmountOut(serializers.Serializer):
    amount = serializers.IntegerField()
    currency = serializers.CharField()


class BalanceOut(serializers.Serializer):
    available = AmountOut(many=True)
    pending = AmountOut(many=True)


class BalanceApi(APIView):
    permission_classes = [IsCoach]

    @extend_schema(
        responses={200: BalanceOut, **error_responses(404, 502)},
        summary="The connected account's Stripe balance",
    )
    def get(self, request: Request) -> Response:
        balance = selectors.connected_account_balance(request.user)  # type: ignore[arg-type]
        return Response(BalanceOut(balance).data)


class PayoutOut(serializers.Serializer):
    id = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    arrival_date = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField(allow_null=True)
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()


class PayoutsApi(APIView):
    permission_classes = [IsCoach]

    @extend_schema(
        responses={200: PayoutOut(many=True), **error_responses(404, 502)},
        summary="The connected account's payouts",
    )
    def get(self, request: Request) -> Response:
        payouts = selectors.connected_account_payouts(request.user)  # type: ignore[arg-type]
        return Response(PayoutOut(payouts, many=True).data, status=status.HTTP_200_OK)


class RefundInput(serializers.Serializer):
    amount = serializers.IntegerField(required=False, min_value=1, max_value=MAX_CHARGE_AMOUNT)


class RefundOutput(serializers.Serializer):
    id = serializers.IntegerField()
    payment = serializers.IntegerField(source="payment_id")
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()


class PaymentRefundApi(APIView):
    """Staff only: refund a payment (the rest of it by default), fee back in proportion."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefundInput, responses={201: RefundOutput, **error_responses(409)})
    def post(self, request: Request, pk: int) -> Response:
        if not request.user.is_staff:
            raise NotAllowed("Only staff can refund payments.")
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        payment = Payment.objects.filter(pk=pk).first()
        if payment is None:
            raise NotFound("No such payment.")
        refund = refunds.refund_by_staff(
            payment=payment,
            amount=data.validated_data.get("amount"),
            by=request.user,  # type: ignore[arg-type]
        )
        refund.refresh_from_db()
        return Response(RefundOutput(refund).data, status=status.HTTP_201_CREATED)
