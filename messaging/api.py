"""REST API of messaging under ``/api/messages/``: one view per operation.

Errors come out as ``{"error": {...}}`` through the project's exception handler; a thread
the caller may not read is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import cast

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import UploadField, error_responses
from marketplace.errors import NotFound
from marketplace.fields import ROW_ID_MAX
from marketplace.models import User
from messaging import selectors, services
from messaging.models import BODY_MAX_LENGTH, Thread
from messaging.rendering import message_payload

# A message's number in its thread (``Message.seq``, a 32-bit column).
SEQ_MAX = 2**31 - 1


def _me(request) -> User:
    """The signed-in user (the view is behind a login, permission or staff check)."""
    return cast(User, request.user)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class ThreadOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = PersonSerializer()
    coach = PersonSerializer()
    booking = serializers.SerializerMethodField()
    last_seq = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    unread = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_booking(self, thread: Thread) -> int | None:
        return thread.booking_id

    def get_unread(self, thread: Thread) -> int:
        return getattr(thread, "unread", 0)

    def get_url(self, thread: Thread) -> str:
        return reverse("messaging:thread", args=[thread.pk])


class MessageOutputSerializer(serializers.Serializer):
    """Documents the shape of ``rendering.message_payload``."""

    id = serializers.IntegerField()
    thread = serializers.IntegerField()
    seq = serializers.IntegerField()
    sender = serializers.DictField()
    body = serializers.CharField()
    body_html = serializers.CharField()
    attachment = serializers.DictField(allow_null=True)
    created_at = serializers.DateTimeField()
    hidden = serializers.BooleanField()


class ThreadPagination(PageNumberPagination):
    page_size = 20


class ThreadListCreateApi(APIView):
    pagination_class = ThreadPagination

    class ThreadOpenInputSerializer(serializers.Serializer):
        coach = serializers.IntegerField(required=False, min_value=1, max_value=ROW_ID_MAX)
        booking = serializers.IntegerField(required=False, min_value=1, max_value=ROW_ID_MAX)
        body = serializers.CharField(required=False, allow_blank=True, max_length=BODY_MAX_LENGTH)

        def validate(self, attrs):
            if not attrs.get("coach") and not attrs.get("booking"):
                raise serializers.ValidationError({"coach": ["Give a coach or a booking."]})
            return attrs

    # a list serializer on a view with a paginator: documented as the paginated page
    @extend_schema(responses=ThreadOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.thread_list_for_user(user=_me(request)), request, view=self
        )
        return paginator.get_paginated_response(ThreadOutputSerializer(page, many=True).data)

    @extend_schema(
        request=ThreadOpenInputSerializer,
        responses={
            200: OpenApiResponse(ThreadOutputSerializer, description="The thread already existed."),
            201: OpenApiResponse(ThreadOutputSerializer, description="A new thread."),
            **error_responses(404),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.ThreadOpenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        booking = None
        if data.get("booking"):
            booking = selectors.booking_get(booking_id=data["booking"])
            if booking is None:
                raise NotFound("No such booking.")
        coach = User.objects.filter(pk=data.get("coach") or 0).first()
        existing_ids = set(
            selectors.thread_list_for_user(user=_me(request)).values_list("pk", flat=True)
        )
        thread = services.thread_open(by=_me(request), coach=coach, booking=booking)
        if data.get("body"):
            services.message_send(thread=thread, sender=_me(request), body=data["body"])
        thread = selectors.thread_list_for_user(user=_me(request)).get(pk=thread.pk)
        created = thread.pk not in existing_ids
        return Response(
            ThreadOutputSerializer(thread).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ThreadDetailApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Older page: messages with seq below."),
            OpenApiParameter("after", int, description="Catch up: messages with seq above."),
            OpenApiParameter("limit", int, description="Page size, 1 to 100 (default 50)."),
        ],
        responses=inline_serializer(
            "ThreadDetail",
            {
                "thread": ThreadOutputSerializer(),
                "messages": MessageOutputSerializer(many=True),
                "has_more": serializers.BooleanField(),
                "next": serializers.CharField(allow_null=True),
                "other_read_seq": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_get_for_user(thread_id=thread_id, user=_me(request))
        query = self.ThreadPageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page, has_more = selectors.message_page(
            thread=thread,
            before=params.get("before"),
            after=params.get("after"),
            limit=params.get("limit", selectors.PAGE_SIZE),
        )
        next_url = None
        if has_more and page:
            base = reverse("messaging_api_thread", args=[thread.pk])
            cursor = f"after={page[-1].seq}" if "after" in params else f"before={page[0].seq}"
            next_url = request.build_absolute_uri(f"{base}?{cursor}&limit={len(page)}")
        listed = selectors.thread_list_for_user(user=_me(request)).filter(pk=thread.pk).first()
        return Response(
            {
                "thread": ThreadOutputSerializer(listed or thread).data,
                "messages": [message_payload(message) for message in page],
                "has_more": has_more,
                "next": next_url,
                "other_read_seq": selectors.other_read_seq(thread=thread, user=_me(request)),
            }
        )

    class ThreadPageQuerySerializer(serializers.Serializer):
        before = serializers.IntegerField(required=False, min_value=1, max_value=SEQ_MAX)
        after = serializers.IntegerField(required=False, min_value=0, max_value=SEQ_MAX)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100)


class MessageCreateApi(APIView):
    class MessageTextInputSerializer(serializers.Serializer):
        body = serializers.CharField(required=False, allow_blank=True, max_length=BODY_MAX_LENGTH)

    class MessageCreateInputSerializer(MessageTextInputSerializer):
        attachment = UploadField(required=False)

    # A file comes only in a multipart form; JSON and a plain form carry the text alone.
    @extend_schema(
        request={
            "multipart/form-data": MessageCreateInputSerializer,
            "application/json": MessageTextInputSerializer,
            "application/x-www-form-urlencoded": MessageTextInputSerializer,
        },
        responses={201: MessageOutputSerializer},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_get_for_user(thread_id=thread_id, user=_me(request))
        serializer = self.MessageCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_send(
            thread=thread,
            sender=_me(request),
            body=serializer.validated_data.get("body", ""),
            attachment=serializer.validated_data.get("attachment"),
        )
        return Response(message_payload(message), status=status.HTTP_201_CREATED)


class ThreadReadApi(APIView):
    class ThreadReadInputSerializer(serializers.Serializer):
        up_to_seq = serializers.IntegerField(required=False, min_value=0, max_value=SEQ_MAX)

    @extend_schema(
        request=ThreadReadInputSerializer,
        responses=inline_serializer(
            "ThreadRead",
            {
                "last_read_seq": serializers.IntegerField(),
                "unread_messages": serializers.IntegerField(),
            },
        ),
    )
    def post(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_get_for_user(thread_id=thread_id, user=_me(request))
        serializer = self.ThreadReadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = services.thread_mark_read(
            thread=thread, user=_me(request), up_to_seq=serializer.validated_data.get("up_to_seq")
        )
        return Response(
            {
                "last_read_seq": state.last_read_seq,
                "unread_messages": selectors.unread_count(user=_me(request)),
            }
        )
