"""Bookings API: one view per operation, explicit input and output serializers; domain
errors become ``{"error": {...}}`` through ``marketplace.api.exception_handler``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings import selectors
from bookings.models import (
    Booking,
    CoachingPlan,
    PackagePurchase,
    PlanInterval,
    PlanSubscription,
)
from bookings.services import cancellation, checkout, holds, plans, rescheduling
from coaches.forms import TIME_ZONE_NAMES
from coaches.models import CoachProfile, SessionType
from marketplace.api import FieldsBuiltOnce, error_responses
from marketplace.errors import DomainError, NotAllowed, NotFound
from marketplace.fields import ROW_ID_MAX, InstantInput
from marketplace.money import MAX_CHARGE_AMOUNT
from payments.models import Payment


class PaymentOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "id",
            "status",
            "amount",
            "application_fee",
            "coach_amount",
            "refunded_amount",
            "currency",
            "stripe_payment_intent_id",
        ]


class BookingOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    coach = serializers.IntegerField(source="coach_id")
    coach_name = serializers.CharField(source="coach.user.display_name")
    session_type = serializers.IntegerField(source="session_type_id")
    session_type_name = serializers.CharField(source="session_type.name")
    payment = serializers.SerializerMethodField()
    rescheduled_to = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "coach",
            "coach_name",
            "client",
            "session_type",
            "session_type_name",
            "starts_at",
            "ends_at",
            "status",
            "hold_expires_at",
            "client_time_zone",
            "topic",
            "meeting_url",
            "reschedule_count",
            "rescheduled_to",
            "package_purchase",
            "plan_credit",
            "payment",
        ]

    def get_payment(self, booking: Booking) -> dict | None:
        # A hold just made passes its one payment in: no need to read it back.
        payment = self.context.get("new_payment")
        if payment is None or payment.booking_id != booking.pk:
            payment = selectors.booking_payment(booking)
        return PaymentOutput(payment).data if payment else None

    def get_rescheduled_to(self, booking: Booking) -> int | None:
        if self.context.get("new_payment") is not None:
            return None  # a hold just made has not been moved anywhere
        moved = getattr(booking, "rescheduled_to", None)
        return moved.pk if moved else None


class BookingCreatedOutput(BookingOutput):
    checkout_url = serializers.URLField(
        required=False,
        help_text="Stripe Checkout, where the client pays for the hold. Absent for a package "
        "session, which is confirmed at once.",
    )

    class Meta(BookingOutput.Meta):
        fields = [*BookingOutput.Meta.fields, "checkout_url"]


class BookingCreateInput(serializers.Serializer):
    session_type = serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX)
    starts_at = InstantInput(help_text="ISO 8601 with an offset, e.g. 2030-03-01T09:00:00Z.")
    topic = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    client_time_zone = serializers.CharField(required=False, default="UTC", max_length=64)
    package_purchase = serializers.IntegerField(required=False, min_value=1, max_value=ROW_ID_MAX)
    plan_subscription = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ROW_ID_MAX,
        help_text="Book with one of this coaching plan's credits (confirmed at once).",
    )
    success_url = serializers.URLField(required=False, max_length=2000)
    cancel_url = serializers.URLField(required=False, max_length=2000)

    def validate_client_time_zone(self, zone: str) -> str:
        if zone not in TIME_ZONE_NAMES:
            raise serializers.ValidationError("Choose a time zone such as Europe/Zurich.")
        return zone


class BookingListCreateApi(ListAPIView):
    """``GET``: the user's bookings (as client or coach). ``POST``: hold a slot and return the
    booking with its Checkout URL (a package session is confirmed at once)."""

    permission_classes = [IsAuthenticated]
    serializer_class = BookingOutput

    def get_queryset(self):
        return selectors.bookings_visible_to(user=self.request.user)  # type: ignore[arg-type]

    @extend_schema(
        request=BookingCreateInput,
        responses={201: BookingCreatedOutput, **error_responses(404, 409, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = BookingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # The coach's row (the hold refuses the coach's own user); the hold reads the coach
        # again, with its user and account, under its lock.
        session_type = (
            SessionType.objects.select_related("coach").filter(pk=values["session_type"]).first()
        )
        if session_type is None:
            raise NotFound("No such session type.")
        paid_with = _credit_named(values, client_id=request.user.pk)
        if paid_with:
            # a package's or a plan's session: no payment of its own, confirmed at once
            booking = holds.booking_hold(
                client=request.user,  # type: ignore[arg-type]
                session_type=session_type,
                starts_at=values["starts_at"],
                topic=values["topic"],
                client_time_zone=values["client_time_zone"],
                **paid_with,  # type: ignore[arg-type]
            )
            return Response(BookingOutput(booking).data, status=status.HTTP_201_CREATED)

        def urls_for(booking: Booking) -> checkout.CheckoutUrls:
            return checkout.CheckoutUrls(
                success_url=values.get("success_url")
                or request.build_absolute_uri(reverse("bookings:paid", args=[booking.pk]))
                + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=values.get("cancel_url")
                or request.build_absolute_uri(reverse("bookings:pay", args=[booking.pk])),
            )

        deferred = request.META.get(DEFERRED_CHECKOUT)
        if deferred is not None:
            # Served by ``bookings.asgi``: hold now, and leave the Checkout Session to be
            # awaited without a thread (this answer is replaced by ``finish``'s).
            booking, payment = holds.hold(
                client=request.user,  # type: ignore[arg-type]
                session_type=session_type,
                starts_at=values["starts_at"],
                topic=values["topic"],
                client_time_zone=values["client_time_zone"],
            )
            pending = checkout.booking_checkout_pending(
                booking=booking, urls=urls_for(booking), payment=payment
            )
            if isinstance(pending, checkout.PendingCheckout):
                deferred.append(DeferredCheckout(pending=pending, finish=_created_body))
                return Response(status=status.HTTP_201_CREATED)
            return Response(_created_body(booking, pending), status=status.HTTP_201_CREATED)
        booking, payment = checkout.booking_book(
            client=request.user,  # type: ignore[arg-type]
            session_type=session_type,
            starts_at=values["starts_at"],
            topic=values["topic"],
            client_time_zone=values["client_time_zone"],
            urls_for=urls_for,
        )
        return Response(_created_body(booking, payment), status=status.HTTP_201_CREATED)


def _credit_named(values: dict, *, client_id: int | None) -> dict[str, object]:
    """The client's plan subscription or package purchase the booking is to be paid with
    (``{"plan_subscription": row}``), none, or ``NotFound`` for one not theirs."""
    if values.get("plan_subscription"):
        plan_subscription = PlanSubscription.objects.filter(
            pk=values["plan_subscription"], client_id=client_id
        ).first()
        if plan_subscription is None:
            raise NotFound("No such plan subscription.")
        return {"plan_subscription": plan_subscription}
    if values.get("package_purchase"):
        purchase = PackagePurchase.objects.filter(
            pk=values["package_purchase"], client_id=client_id
        ).first()
        if purchase is None:
            raise NotFound("No such package purchase.")
        return {"package_purchase": purchase}
    return {}


def _created_body(booking: Booking, payment: Payment) -> dict:
    body = dict(BookingOutput(booking, context={"new_payment": payment}).data)
    body["checkout_url"] = payment.checkout_url
    return body


# The request key under which ``bookings.asgi`` asks ``POST /api/bookings/`` to leave the
# Checkout Session to it: a list the view appends its ``DeferredCheckout`` to.
DEFERRED_CHECKOUT = "bookings.deferred_checkout"


@dataclass(frozen=True)
class DeferredCheckout:
    pending: checkout.PendingCheckout
    # The 201 body of the hold once its session is recorded.
    finish: Callable[[Booking, Payment], dict]


class BookingDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=BookingOutput)
    def get(self, request: Request, pk: int) -> Response:
        booking = selectors.booking_for_user(user=request.user, booking_id=pk)  # type: ignore[arg-type]
        return Response(BookingOutput(booking).data)


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class BookingCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=CancelInput, responses={200: BookingOutput, **error_responses(409)})
    def post(self, request: Request, pk: int) -> Response:
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        booking = selectors.booking_for_user(user=request.user, booking_id=pk)  # type: ignore[arg-type]
        cancelled = cancellation.booking_cancel(
            booking=booking,
            by=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return Response(BookingOutput(cancelled).data)


class RescheduleInput(serializers.Serializer):
    starts_at = InstantInput(help_text="ISO 8601 with an offset, e.g. 2030-03-01T09:00:00Z.")


class BookingRescheduleApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RescheduleInput, responses={200: BookingOutput, **error_responses(409)})
    def post(self, request: Request, pk: int) -> Response:
        data = RescheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        booking = selectors.booking_for_user(user=request.user, booking_id=pk)  # type: ignore[arg-type]
        moved = rescheduling.booking_reschedule(
            booking=booking,
            by=request.user,  # type: ignore[arg-type]
            starts_at=data.validated_data["starts_at"],
        )
        return Response(BookingOutput(moved).data)


# --- coaching plans --------------------------------------------------------------------------


class CoachingPlanOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    coach = serializers.IntegerField(source="coach_id")
    session_type = serializers.IntegerField(source="session_type_id")

    class Meta:
        model = CoachingPlan
        fields = [
            "id",
            "coach",
            "name",
            "session_type",
            "sessions_per_period",
            "interval",
            "price",
            "currency",
            "rollover",
            "rollover_cap",
            "minimum_periods",
            "is_active",
        ]


_BELOW_ZERO = "{name} cannot be below 0."


class CoachingPlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    session_type = serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX)
    sessions_per_period = serializers.IntegerField(
        min_value=0, max_value=2**15 - 1, help_text="1 to 31."
    )
    interval = serializers.ChoiceField(choices=PlanInterval.choices)
    price = serializers.IntegerField(
        min_value=0,
        max_value=MAX_CHARGE_AMOUNT,
        help_text="Per period, in the coach's currency's minor units, within Stripe's minimum "
        "and maximum charge.",
        error_messages={
            "max_value": f"Stripe charges at most {MAX_CHARGE_AMOUNT} minor units at once."
        },
    )
    rollover = serializers.BooleanField(default=False)
    rollover_cap = serializers.IntegerField(
        min_value=0,
        max_value=2**15 - 1,
        default=0,
        error_messages={"min_value": _BELOW_ZERO.format(name="The rollover cap")},
    )
    minimum_periods = serializers.IntegerField(
        min_value=0,
        max_value=2**15 - 1,
        default=0,
        error_messages={"min_value": _BELOW_ZERO.format(name="The minimum commitment")},
    )


def _coach_of(request: Request) -> CoachProfile:
    coach = CoachProfile.objects.filter(user=request.user).first()  # type: ignore[misc]
    if coach is None:
        raise NotAllowed("Only coaches have plans.")
    return coach


class CoachingPlanListCreateApi(ListAPIView):
    """``GET``: the signed-in coach's plans. ``POST``: offer a new plan (bad terms are a 400
    naming each field; nothing is stored)."""

    permission_classes = [IsAuthenticated]
    serializer_class = CoachingPlanOutput

    def get_queryset(self):
        return CoachingPlan.objects.filter(coach=_coach_of(self.request)).order_by("price", "id")

    @extend_schema(
        request=CoachingPlanInput,
        responses={201: CoachingPlanOutput, **error_responses(400, 403, 502)},
    )
    def post(self, request: Request) -> Response:
        coach = _coach_of(request)
        data = CoachingPlanInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        session_type = SessionType.objects.filter(pk=values.pop("session_type")).first()
        if session_type is None:
            raise DomainError(
                "The plan has errors.",
                code="invalid_plan",
                fields={"session_type": ["No such session type."]},
            )
        plan = plans.coaching_plan_create(
            coach=coach, terms=plans.PlanTerms(session_type=session_type, **values)
        )
        return Response(CoachingPlanOutput(plan).data, status=status.HTTP_201_CREATED)


class CheckoutUrlsInput(serializers.Serializer):
    success_url = serializers.URLField(required=False, max_length=2000)
    cancel_url = serializers.URLField(required=False, max_length=2000)


class PlanSubscriptionOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    plan = CoachingPlanOutput()
    coach_name = serializers.CharField(source="coach.user.display_name")
    stripe_status = serializers.CharField(source="subscription.status")
    current_period_end = serializers.DateTimeField(source="subscription.current_period_end")
    cancel_at_period_end = serializers.BooleanField(source="subscription.cancel_at_period_end")
    credits_left = serializers.SerializerMethodField()
    checkout_url = serializers.SerializerMethodField()

    class Meta:
        model = PlanSubscription
        fields = [
            "id",
            "plan",
            "coach_name",
            "status",
            "stripe_status",
            "current_period_end",
            "cancel_at_period_end",
            "periods_paid",
            "credits_left",
            "checkout_url",
            "created_at",
        ]

    def get_credits_left(self, row: PlanSubscription) -> int:
        standing = self.context.get("standings", {}).get(row.pk)
        return standing.credits_left if standing is not None else 0

    def get_checkout_url(self, row: PlanSubscription) -> str | None:
        return row.subscription.checkout_url if row.status == "pending" else None


class PlanSubscribeApi(APIView):
    """Start a subscription to a coaching plan: returns the pending subscription and its
    Stripe Checkout URL."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=CheckoutUrlsInput,
        responses={201: PlanSubscriptionOutput, **error_responses(400, 404, 409, 503)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = CheckoutUrlsInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = CoachingPlan.objects.select_related("coach__user").filter(pk=pk).first()
        if plan is None:
            raise NotFound("No such plan.")
        values = data.validated_data
        plan_subscription = plans.plan_subscribe(
            client=request.user,  # type: ignore[arg-type]
            plan=plan,
            urls=checkout.CheckoutUrls(
                success_url=values.get("success_url")
                or request.build_absolute_uri(reverse("bookings:billing")) + "?subscribed=1",
                cancel_url=values.get("cancel_url")
                or request.build_absolute_uri(plan.coach.get_absolute_url()),
            ),
        )
        return Response(
            PlanSubscriptionOutput(plan_subscription).data, status=status.HTTP_201_CREATED
        )


def _standings_context(request: Request) -> dict:
    standings = selectors.plan_standings(client=request.user)  # type: ignore[arg-type]
    return {"standings": {s.plan_subscription.pk: s for s in standings}}


class PlanSubscriptionListApi(APIView):
    """The signed-in client's coaching plans with the sessions left to book."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PlanSubscriptionOutput(many=True))
    def get(self, request: Request) -> Response:
        context = _standings_context(request)
        rows = [standing.plan_subscription for standing in context["standings"].values()]
        return Response(PlanSubscriptionOutput(rows, many=True, context=context).data)


def _own_plan_subscription(request: Request, pk: int) -> PlanSubscription:
    row = (
        PlanSubscription.objects.select_related("plan", "subscription", "coach__user")
        .filter(pk=pk, client_id=request.user.pk)
        .first()
    )
    if row is None:
        raise NotFound("No such plan subscription.")
    return row


class _PlanActionApi(APIView):
    permission_classes = [IsAuthenticated]
    action_name = ""

    def act(self, request: Request, row: PlanSubscription) -> PlanSubscription:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        row = self.act(request, _own_plan_subscription(request, pk))
        row.refresh_from_db()
        return Response(PlanSubscriptionOutput(row, context=_standings_context(request)).data)


@extend_schema(request=None, responses={200: PlanSubscriptionOutput, **error_responses(404, 409)})
class PlanCancelApi(_PlanActionApi):
    """Stop renewing: the plan ends with the paid period (refused within a minimum
    commitment)."""

    def act(self, request: Request, row: PlanSubscription) -> PlanSubscription:
        return plans.plan_cancel(plan_subscription=row, by=request.user)  # type: ignore[arg-type]


@extend_schema(request=None, responses={200: PlanSubscriptionOutput, **error_responses(404, 409)})
class PlanResumeApi(_PlanActionApi):
    """Undo a cancellation before the period ends, or resume a paused plan."""

    def act(self, request: Request, row: PlanSubscription) -> PlanSubscription:
        return plans.plan_resume(plan_subscription=row, by=request.user)  # type: ignore[arg-type]


@extend_schema(request=None, responses={200: PlanSubscriptionOutput, **error_responses(404, 409)})
class PlanPauseApi(_PlanActionApi):
    """Pause collection: nothing is charged and no sessions granted until resumed."""

    def act(self, request: Request, row: PlanSubscription) -> PlanSubscription:
        return plans.plan_pause(plan_subscription=row, by=request.user)  # type: ignore[arg-type]


class PlanChangeInput(serializers.Serializer):
    plan = serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX)


class PlanChangeApi(_PlanActionApi):
    """Switch to another plan of the same coach (Stripe prorates the period)."""

    @extend_schema(
        request=PlanChangeInput,
        responses={200: PlanSubscriptionOutput, **error_responses(400, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, request: Request, row: PlanSubscription) -> PlanSubscription:
        data = PlanChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        to_plan = CoachingPlan.objects.filter(pk=data.validated_data["plan"]).first()
        if to_plan is None:
            raise NotFound("No such plan.")
        return plans.plan_change(
            plan_subscription=row,
            to_plan=to_plan,
            by=request.user,  # type: ignore[arg-type]
        )
