"""Coaches API: public, read-only discovery (anonymous access allowed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coaches import selectors
from coaches.forms import SearchForm
from coaches.models import CoachProfile, SessionType
from coaches.pagination import CachedCountPaginator
from marketplace.errors import DomainError, NotFound
from marketplace.money import format_money
from marketplace.timeparse import parse_instant

MAX_SLOT_RANGE = timedelta(days=62)


class SessionTypeOutput(serializers.ModelSerializer):
    price_display = serializers.SerializerMethodField()

    class Meta:
        model = SessionType
        fields = ["id", "name", "duration_minutes", "price", "currency", "price_display"]

    def get_price_display(self, session_type: SessionType) -> str:
        return format_money(session_type.price, session_type.currency)


class CoachOutput(serializers.ModelSerializer):
    name = serializers.CharField(source="user.display_name")
    specializations: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    session_types = SessionTypeOutput(source="offered_session_types", many=True)
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    url = serializers.CharField(source="get_absolute_url")

    class Meta:
        model = CoachProfile
        fields = [
            "id",
            "slug",
            "name",
            "headline",
            "bio",
            "location",
            "time_zone",
            "currency",
            "languages",
            "specializations",
            "session_types",
            "min_price",
            "rating_average",
            "rating_count",
            "next_available_at",
            "url",
        ]


class SlotsOutput(serializers.Serializer):
    coach = serializers.IntegerField()
    session_type = serializers.IntegerField()
    duration_minutes = serializers.IntegerField()
    coach_time_zone = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    slots = serializers.ListField(
        child=serializers.DateTimeField(), help_text="Bookable start times, UTC ISO 8601."
    )


class CoachPagination(PageNumberPagination):
    django_paginator_class = CachedCountPaginator
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class CoachListApi(APIView):
    """Public coaches, with the same filters and sorts as ``/coaches/``, a page at a time."""

    permission_classes = [AllowAny]
    pagination_class = CoachPagination

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in (
                "q",
                "specialization",
                "currency",
                "min_price",
                "max_price",
                "language",
                "min_rating",
                "free_within_days",
                "day",
                "from_time",
                "to_time",
                "tz",
                "sort",
            )
        ],
        # a list serializer on a view with a paginator: documented as the paginated page
        responses=CoachOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        form = SearchForm(request.query_params)
        if not form.is_valid():
            raise DomainError(
                "Invalid search.",
                code="invalid_search",
                fields={
                    name: [str(error) for error in errors] for name, errors in form.errors.items()
                },
            )
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        coaches = selectors.coach_search(search=form.to_search(), now=now)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(coaches, request, view=self)
        return paginator.get_paginated_response(CoachOutput(page, many=True).data)


class CoachDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=CoachOutput)
    def get(self, request: Request, pk: int) -> Response:
        coach = selectors.coach_public_get(pk=pk)
        return Response(CoachOutput(coach).data)


class CoachSlotsApi(APIView):
    """Bookable start times of a coach for a session type, as UTC ISO 8601 instants."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("session_type", int, required=True),
            OpenApiParameter("start", str, required=False, description="ISO 8601, default now"),
            OpenApiParameter("end", str, required=False, description="ISO 8601, default +14 d"),
        ],
        responses=SlotsOutput,
    )
    def get(self, request: Request, pk: int) -> Response:
        raw_type = request.query_params.get("session_type", "")
        session_type = (
            selectors.public_session_type(coach_id=pk, pk=int(raw_type))
            if raw_type.isascii() and raw_type.isdigit() and len(raw_type) <= 18
            else None
        )
        if session_type is None:
            selectors.coach_public_get(pk=pk, details=False)  # 404 for an unknown coach
            raise NotFound(
                "This coach has no such session type.", fields={"session_type": ["Unknown."]}
            )
        coach = session_type.coach
        now = datetime.now(UTC)
        # A bare date means its midnight in UTC.
        start = (
            parse_instant(request.query_params["start"], field="start", date_only=True)
            if request.query_params.get("start")
            else now
        )
        end = (
            parse_instant(request.query_params["end"], field="end", date_only=True)
            if request.query_params.get("end")
            else start + timedelta(days=14)
        )
        if end <= start:
            raise DomainError("end must be after start.", fields={"end": ["Before start."]})
        if end - start > MAX_SLOT_RANGE:
            raise DomainError(
                "Ask for at most 62 days at once.", fields={"end": ["Range too long."]}
            )
        slots = selectors.available_slots(
            coach=coach, session_type=session_type, start=start, end=end, now=now
        )
        return Response(
            {
                "coach": coach.pk,
                "session_type": session_type.pk,
                "duration_minutes": session_type.duration_minutes,
                "coach_time_zone": coach.time_zone,
                "start": start.isoformat().replace("+00:00", "Z"),
                "end": end.isoformat().replace("+00:00", "Z"),
                "slots": [slot.isoformat().replace("+00:00", "Z") for slot in slots],
            }
        )
