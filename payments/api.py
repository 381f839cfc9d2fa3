"""Payments API: the coach's Stripe Connect account (``/api/connect/...``), staff refunds,
staff payouts (``/api/payouts/...``), the client's saved cards
(``/api/payment-methods/...``), and the caller's invoices (``/api/invoices/``).

One view per operation, explicit input and output serializers; domain errors become
``{"error": {...}}`` through the project's exception handler.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import FieldsBuiltOnce, error_responses
from marketplace.errors import NotAllowed, NotFound
from marketplace.fields import ROW_ID_MAX
from marketplace.models import User
from marketplace.money import MAX_CHARGE_AMOUNT
from payments import selectors
from payments.models import (
    Invoice,
    Payment,
    PayoutInterval,
    PayoutReason,
    PayoutRequest,
    Weekday,
)
from payments.services import accounts as services
from payments.services import cards, invoices, payout_requests, refunds
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


# --- staff payouts ------------------------------------------------------------------------


class IsStaffMember(IsAuthenticated):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.is_staff:
            raise NotAllowed("Only staff can request, approve, cancel or reverse payouts.")
        return True


class PayoutReceivedOut(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    note = serializers.CharField()
    amount = serializers.IntegerField(help_text="Awarded, minor units")
    platform_fee = serializers.IntegerField(help_text="Kept by the platform (prizes)")
    net_amount = serializers.IntegerField(help_text="Transferred to the payee's account")
    currency = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    approved_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    failure_message = serializers.CharField()
    reversal_amount = serializers.IntegerField()
    reversal_reason = serializers.CharField()
    reversed_at = serializers.DateTimeField(allow_null=True)


class PayoutsReceivedApi(APIView):
    """The signed-in person's payouts from staff (bonuses, prizes, goodwill, corrections)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=PayoutReceivedOut(many=True), summary="Payouts the signed-in user received"
    )
    def get(self, request: Request) -> Response:
        received = selectors.payouts_received(request.user)  # type: ignore[arg-type]
        return Response(PayoutReceivedOut(received, many=True).data)


class PayoutRequestOut(PayoutReceivedOut):
    recipient = serializers.IntegerField(source="recipient_id")
    destination_account_id = serializers.CharField()
    needs_second_person = serializers.BooleanField()
    requested_by = serializers.IntegerField(source="requested_by_id")
    approved_by = serializers.IntegerField(source="approved_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    failure_code = serializers.CharField()


class PayoutRequestIn(serializers.Serializer):
    recipient = serializers.IntegerField(
        min_value=1, max_value=ROW_ID_MAX, help_text="The payee's user id"
    )
    amount = serializers.IntegerField(
        min_value=1,
        max_value=MAX_CHARGE_AMOUNT,
        help_text="Minor units (50000 is 500.00); more than 0, at most PAYOUT_MAX_AMOUNT",
    )
    currency = serializers.CharField(max_length=3, min_length=3)
    reason = serializers.ChoiceField(choices=PayoutReason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _payout_request(pk: int) -> PayoutRequest:
    payout_request = PayoutRequest.objects.filter(pk=pk).first()
    if payout_request is None:
        raise NotFound("No such payout request.")
    return payout_request


class PayoutRequestsApi(APIView):
    """Staff: ask for a payout (approved separately, by another staff member above the
    two-person threshold)."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        request=PayoutRequestIn,
        responses={201: PayoutRequestOut, **error_responses(403)},
        summary="Request a staff payout",
    )
    def post(self, request: Request) -> Response:
        given = PayoutRequestIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        recipient = User.objects.filter(pk=data["recipient"]).first()
        if recipient is None:
            raise NotFound("No such recipient.")
        created = payout_requests.payout_request_create(
            recipient=recipient,
            amount=data["amount"],
            currency=data["currency"],
            reason=data["reason"],
            note=data["note"],
            by=request.user,  # type: ignore[arg-type]
        )
        return Response(PayoutRequestOut(created).data, status=status.HTTP_201_CREATED)


class PayoutApproveApi(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        request=None,
        responses={200: PayoutRequestOut, **error_responses(403, 404, 409)},
        summary="Approve a payout: its transfer is sent by a Celery task",
    )
    def post(self, request: Request, pk: int) -> Response:
        approved = payout_requests.payout_request_approve(
            payout_request=_payout_request(pk),
            by=request.user,  # type: ignore[arg-type]
        )
        approved.refresh_from_db()
        return Response(PayoutRequestOut(approved).data)


class PayoutCancelApi(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        request=None,
        responses={200: PayoutRequestOut, **error_responses(403, 404, 409)},
        summary="Cancel a payout before its transfer reaches Stripe",
    )
    def post(self, request: Request, pk: int) -> Response:
        cancelled = payout_requests.payout_request_cancel(
            payout_request=_payout_request(pk),
            by=request.user,  # type: ignore[arg-type]
        )
        return Response(PayoutRequestOut(cancelled).data)


class PayoutReverseIn(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_CHARGE_AMOUNT,
        help_text="Minor units to take back (default: all that was sent)",
    )
    reason = serializers.CharField(max_length=500)


class PayoutReverseApi(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        request=PayoutReverseIn,
        responses={200: PayoutRequestOut, **error_responses(403, 404, 409, 502)},
        summary="Reverse a paid payout (a Stripe transfer reversal), with a reason",
    )
    def post(self, request: Request, pk: int) -> Response:
        given = PayoutReverseIn(data=request.data)
        given.is_valid(raise_exception=True)
        reversed_request = payout_requests.payout_request_reverse(
            payout_request=_payout_request(pk),
            amount=given.validated_data.get("amount"),
            reason=given.validated_data["reason"],
            by=request.user,  # type: ignore[arg-type]
        )
        return Response(PayoutRequestOut(reversed_request).data)


# --- the client's saved cards -------------------------------------------------------------


class PaymentMethodOut(serializers.Serializer):
    id = serializers.IntegerField()
    stripe_payment_method_id = serializers.CharField()
    brand = serializers.CharField(help_text="Stripe's card brand, e.g. `visa`, `amex`")
    brand_label = serializers.CharField(help_text="The brand as people write it")
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()
    is_default = serializers.BooleanField(
        help_text="The card Stripe charges for renewals (the Customer's default)"
    )


def _saved_cards(request: Request) -> list[dict]:
    saved = selectors.saved_cards_of(request.user)  # type: ignore[arg-type]
    return PaymentMethodOut(saved, many=True).data  # type: ignore[return-value]


class PaymentMethodsApi(APIView):
    """The signed-in client's saved cards: those kept on their Stripe Customer when they
    ticked "save my card" at Checkout (or added in Stripe's portal), newest first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PaymentMethodOut(many=True), summary="The client's saved cards")
    def get(self, request: Request) -> Response:
        return Response(_saved_cards(request))


class PaymentMethodRemoveQuerySerializer(serializers.Serializer):
    confirm_renewal_may_fail = serializers.BooleanField(required=False, default=False)


class PaymentMethodRemovedOut(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.CharField()
    last4 = serializers.CharField()
    warning = serializers.CharField(
        help_text="Set when a running plan renewed with this card: its next renewal will fail "
        "unless another card is added; empty otherwise."
    )


class PaymentMethodDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confirm_renewal_may_fail",
                bool,
                required=False,
                description="Remove the only card a running plan renews with anyway (without "
                "it, that is refused with 409 `card_needed_for_renewal`).",
            )
        ],
        responses={200: PaymentMethodRemovedOut, **error_responses(404, 409, 502)},
        summary="Remove a saved card (detached from the client's Customer at Stripe)",
    )
    def delete(self, request: Request, pk: int) -> Response:
        query = PaymentMethodRemoveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        removed = cards.saved_card_remove(
            user=request.user,  # type: ignore[arg-type]
            card_id=pk,
            confirm_renewal_may_fail=query.validated_data["confirm_renewal_may_fail"],
        )
        return Response(
            {"id": pk, "brand": removed.brand, "last4": removed.last4, "warning": removed.warning}
        )


class PaymentMethodDefaultApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: PaymentMethodOut(many=True), **error_responses(404, 502)},
        summary="Make a saved card the default (renewals are charged to it); the cards after",
    )
    def post(self, request: Request, pk: int) -> Response:
        cards.saved_card_make_default(user=request.user, card_id=pk)  # type: ignore[arg-type]
        return Response(_saved_cards(request))


# --- invoices ------------------------------------------------------------------------------


class InvoiceLineOut(serializers.Serializer):
    description = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units; a credit is negative")
    period_start = serializers.IntegerField(allow_null=True, help_text="Unix seconds")
    period_end = serializers.IntegerField(allow_null=True, help_text="Unix seconds")
    proration = serializers.BooleanField()


class InvoiceOut(FieldsBuiltOnce, serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_user_id", help_text="Who pays")
    customer_name = serializers.CharField(source="customer_user.display_name")
    payee = serializers.IntegerField(
        source="payee_id", allow_null=True, help_text="Who is paid (a coach); null: the platform"
    )
    payee_name = serializers.SerializerMethodField()
    lines = InvoiceLineOut(many=True)
    pdf_url = serializers.SerializerMethodField(
        help_text="The invoice's PDF, for its payer and payee (null until finalized)"
    )

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "billing_reason",
            "customer",
            "customer_name",
            "payee",
            "payee_name",
            "currency",
            "subtotal",
            "total",
            "amount_due",
            "amount_paid",
            "amount_remaining",
            "issued_at",
            "paid_at",
            "period_start",
            "period_end",
            "lines",
            "attempt_count",
            "next_payment_attempt",
            "hosted_invoice_url",
            "pdf_url",
        ]

    def get_payee_name(self, invoice: Invoice) -> str | None:
        return invoice.payee.display_name if invoice.payee is not None else None

    def get_pdf_url(self, invoice: Invoice) -> str | None:
        if not invoice.invoice_pdf:
            return None
        path = reverse("payments:invoice_pdf", args=[invoice.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class InvoicesQuerySerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=[("client", "client"), ("coach", "coach")],
        default="client",
        help_text="client: the invoices you pay; coach: those your plan subscribers pay you",
    )


class InvoicesApi(ListAPIView):
    """The caller's invoices, newest first: those they pay (default) or, with
    ``?role=coach``, those paid to them. Drafts are not listed."""

    permission_classes = [IsAuthenticated]
    serializer_class = InvoiceOut

    def get_queryset(self):
        query = InvoicesQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        user = self.request.user
        if query.validated_data["role"] == "coach":
            return selectors.invoices_of_payee(user)  # type: ignore[arg-type]
        return selectors.invoices_of_customer(user)  # type: ignore[arg-type]

    @extend_schema(
        parameters=[OpenApiParameter("role", str, enum=["client", "coach"], required=False)],
        summary="The caller's invoices (paginated)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class InvoicePayApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: InvoiceOut, **error_responses(402, 404, 409, 502)},
        summary="Pay an open invoice now with the card Stripe has for the payer",
    )
    def post(self, request: Request, pk: int) -> Response:
        invoice = Invoice.objects.filter(pk=pk).first()
        if invoice is None:
            raise NotFound("No such invoice.")
        paid = invoices.invoice_pay_now(invoice=invoice, by=request.user)  # type: ignore[arg-type]
        return Response(InvoiceOut(paid, context={"request": request}).data)
