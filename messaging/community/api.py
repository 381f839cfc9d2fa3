"""REST API of the community under ``/api/community/``: one view per operation.

Errors come out as ``{"error": {...}}`` through the project's exception handler; a group or
post the caller may not see is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coaches.models import Specialization
from marketplace.api import UploadField, error_responses
from marketplace.errors import DomainError, NotFound
from marketplace.fields import ROW_ID_MAX
from marketplace.models import User
from messaging.community import live, selectors
from messaging.community.models import (
    BODY_MAX_LENGTH,
    GROUP_DESCRIPTION_MAX_LENGTH,
    GROUP_NAME_MAX_LENGTH,
    GROUP_RULES_MAX_LENGTH,
    REASON_MAX_LENGTH,
    REPLY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    DigestFrequency,
    Discussion,
    Group,
    GroupAccess,
    MemberRole,
    Membership,
    Notification,
    ReactionKind,
    Reply,
)
from messaging.community.services import (
    groups,
    memberships,
    moderation,
    notifications,
    posts,
    reactions,
)

SEQ_MAX = 2**31 - 1


def _me(request) -> User:
    """The signed-in user (every view here requires authentication)."""
    return cast(User, request.user)


# --- output shapes -------------------------------------------------------------------------


class PersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    handle = serializers.CharField()


class GroupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    rules = serializers.CharField()
    kind = serializers.CharField()
    access = serializers.CharField()
    specialization = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    member_count = serializers.IntegerField()
    discussion_count = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
    membership = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url")

    def get_specialization(self, group: Group) -> str | None:
        return group.specialization.name if group.specialization is not None else None

    def get_owner(self, group: Group) -> int | None:
        return group.owner_id

    def get_membership(self, group: Group) -> dict | None:
        membership = self.context.get("memberships", {}).get(group.pk)
        if membership is None:
            return None
        return {"state": membership.state, "role": membership.role}


class DiscussionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.IntegerField(source="group_id")
    title = serializers.CharField()
    body = serializers.CharField()
    body_html = serializers.CharField()
    status = serializers.CharField()
    author = serializers.SerializerMethodField()
    reply_count = serializers.IntegerField()
    last_seq = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField()
    images = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url")

    def get_author(self, discussion: Discussion) -> dict:
        return live.person(discussion.author)

    def get_images(self, discussion: Discussion) -> list[dict]:
        if not self.context.get("with_images"):
            return []
        return [
            {"id": image.pk, "url": image.get_absolute_url(), "name": image.name}
            for image in discussion.images.all()
        ]


class DiscussionListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()
    author = PersonOutput()
    excerpt = serializers.CharField()
    reply_count = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class QuoteOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    author = serializers.CharField()
    body_html = serializers.CharField()
    visible = serializers.BooleanField()


class ReplyOutput(serializers.Serializer):
    """Documents ``live.reply_payload``."""

    id = serializers.IntegerField()
    discussion = serializers.IntegerField()
    seq = serializers.IntegerField()
    author = PersonOutput()
    body = serializers.CharField()
    body_html = serializers.CharField()
    status = serializers.CharField()
    quote = QuoteOutput(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)


class MembershipOutput(serializers.Serializer):
    user = serializers.SerializerMethodField()
    role = serializers.CharField()
    state = serializers.CharField()
    joined_at = serializers.DateTimeField(allow_null=True)

    def get_user(self, membership: Membership) -> dict:
        return live.person(membership.user)


class ReactionsOutput(serializers.Serializer):
    on = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    actor = serializers.SerializerMethodField()
    discussion = serializers.IntegerField(source="discussion_id")
    reply = serializers.IntegerField(source="reply_id", allow_null=True)
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    def get_actor(self, notice: Notification) -> str | None:
        return notice.actor.display_name if notice.actor else None


class Pages(PageNumberPagination):
    page_size = selectors.DISCUSSIONS_PER_PAGE


def _memberships(user, groups_: list[Group]) -> dict[int, Membership]:
    return {
        membership.group_id: membership
        for membership in Membership.objects.filter(user=user, group__in=groups_)
    }


def _group_body(group: Group, user) -> dict:
    return GroupOutput(group, context={"memberships": _memberships(user, [group])}).data


# --- groups --------------------------------------------------------------------------------


class GroupListCreateApi(APIView):
    pagination_class = Pages

    class GroupCreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=GROUP_NAME_MAX_LENGTH)
        description = serializers.CharField(
            required=False, allow_blank=True, max_length=GROUP_DESCRIPTION_MAX_LENGTH
        )
        rules = serializers.CharField(
            required=False, allow_blank=True, max_length=GROUP_RULES_MAX_LENGTH
        )
        access = serializers.ChoiceField(choices=GroupAccess.choices, default=GroupAccess.OPEN)
        specialization = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=ROW_ID_MAX
        )
        cover = UploadField(required=False)

    @extend_schema(
        summary="Groups you are in, then the groups you may join",
        responses=GroupOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        me = _me(request)
        visible = list(selectors.groups_of_member(user=me)) + list(
            selectors.groups_to_discover(user=me)
        )
        paginator = self.pagination_class()
        page: list[Group] = paginator.paginate_queryset(visible, request, view=self) or []  # type: ignore[arg-type]
        context = {"memberships": _memberships(me, page)}
        return paginator.get_paginated_response(GroupOutput(page, many=True, context=context).data)

    @extend_schema(
        summary="Create a group (a verified coach's, or a staff topic group)",
        request={
            "multipart/form-data": GroupCreateInput,
            "application/json": GroupCreateInput,
        },
        responses={201: GroupOutput},
    )
    def post(self, request: Request) -> Response:
        serializer = self.GroupCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        specialization = None
        if data.get("specialization"):
            specialization = Specialization.objects.filter(pk=data["specialization"]).first()
            if specialization is None:
                raise DomainError(
                    "No such specialisation.", fields={"specialization": ["Not found."]}
                )
        group = groups.group_create(
            by=_me(request),
            name=data["name"],
            description=data.get("description", ""),
            rules=data.get("rules", ""),
            access=data["access"],
            specialization=specialization,
            cover=data.get("cover"),
        )
        return Response(_group_body(group, _me(request)), status=status.HTTP_201_CREATED)


class GroupDetailApi(APIView):
    @extend_schema(summary="A group", responses=GroupOutput)
    def get(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request))
        return Response(_group_body(access.group, _me(request)))


class GroupJoinApi(APIView):
    @extend_schema(
        summary="Join an open group, ask to join, or accept an invitation",
        request=None,
        responses={200: GroupOutput, **error_responses(403)},
    )
    def post(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request))
        memberships.group_join(group=access.group, user=_me(request))
        access.group.refresh_from_db()
        return Response(_group_body(access.group, _me(request)))


class GroupLeaveApi(APIView):
    @extend_schema(
        summary="Leave a group (or withdraw a request, decline an invitation)",
        request=None,
        responses={200: GroupOutput},
    )
    def post(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request))
        memberships.group_leave(group=access.group, user=_me(request))
        access.group.refresh_from_db()
        return Response(_group_body(access.group, _me(request)))


class MemberListInviteApi(APIView):
    pagination_class = Pages

    class InviteInput(serializers.Serializer):
        user = serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX)

    @extend_schema(
        summary="Members (moderators also see requests, invitations, bans)",
        responses=MembershipOutput(many=True),
    )
    def get(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request), need="read")
        rows = selectors.group_members(group=access.group)
        if not access.can_moderate:
            rows = rows.filter(state="member")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(MembershipOutput(page, many=True).data)

    @extend_schema(
        summary="Invite a client who booked with the group's coach",
        request=InviteInput,
        responses={201: MembershipOutput},
    )
    def post(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request), need="moderate")
        serializer = self.InviteInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitee = User.objects.filter(pk=serializer.validated_data["user"]).first()
        if invitee is None:
            raise DomainError("No such person.", fields={"user": ["Not found."]})
        membership = memberships.member_invite(
            group=access.group, by=access, moderator=_me(request), user=invitee
        )
        membership.refresh_from_db()
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class MemberActionApi(APIView):
    class MemberActionInput(serializers.Serializer):
        action = serializers.ChoiceField(
            choices=["approve", "ban", "unban", "warn", MemberRole.MODERATOR, MemberRole.MEMBER]
        )
        reason = serializers.CharField(
            required=False, allow_blank=True, max_length=REASON_MAX_LENGTH
        )

    @extend_schema(
        summary="A moderator's action on a member: approve, ban, unban, warn, or a role",
        operation_id="community_groups_member_action",
        request=MemberActionInput,
        responses={200: MembershipOutput},
    )
    def post(self, request: Request, group_id: int, user_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request), need="moderate")
        group = access.group
        row = Membership.objects.select_related("user").filter(group=group, user_id=user_id).first()
        if row is None:
            raise NotFound("No such member.")
        serializer = self.MemberActionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = serializer.validated_data["action"]
        reason = serializer.validated_data.get("reason", "")
        me = _me(request)
        if action == "approve":
            memberships.member_approve(group=group, by=access, moderator=me, membership=row)
        elif action == "ban":
            memberships.member_ban(
                group=group, by=access, user=row.user, reason=reason, moderator=me
            )
        elif action == "unban":
            memberships.member_unban(group=group, by=access, user=row.user, moderator=me)
        elif action == "warn":
            memberships.member_warn(
                group=group, by=access, user=row.user, reason=reason, moderator=me
            )
        else:
            memberships.member_set_role(
                group=group, by=access, moderator=me, membership=row, role=action
            )
        row.refresh_from_db()
        return Response(MembershipOutput(row).data)


# --- discussions ---------------------------------------------------------------------------


class DiscussionListCreateApi(APIView):
    pagination_class = Pages

    class DiscussionQuery(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)

    class DiscussionTextInput(serializers.Serializer):
        title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
        body = serializers.CharField(max_length=BODY_MAX_LENGTH)

    class DiscussionCreateInput(DiscussionTextInput):
        images = serializers.ListField(child=UploadField(), required=False, max_length=4)

    @extend_schema(
        summary="A group's discussions, latest activity first, or searched with q",
        parameters=[DiscussionQuery],
        responses=DiscussionListOutput(many=True),
    )
    def get(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request), need="read")
        query = self.DiscussionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = (
            paginator.paginate_queryset(
                selectors.discussion_list(
                    group=access.group, query=query.validated_data.get("q", "")
                ),
                request,
                view=self,
            )
            or []
        )
        return paginator.get_paginated_response([live.discussion_summary(item) for item in page])

    @extend_schema(
        summary="Start a discussion (Markdown body; up to four images in a multipart form)",
        request={
            "multipart/form-data": DiscussionCreateInput,
            "application/json": DiscussionTextInput,
        },
        responses={201: DiscussionOutput, **error_responses(403)},
    )
    def post(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request), need="read")
        serializer = self.DiscussionCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        discussion = posts.discussion_start(
            access=access,
            author=_me(request),
            title=data["title"],
            body=data["body"],
            images=data.get("images") or [],
        )
        return Response(
            DiscussionOutput(discussion, context={"with_images": True}).data,
            status=status.HTTP_201_CREATED,
        )


class DiscussionDetailApi(APIView):
    class DiscussionEditInput(serializers.Serializer):
        title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
        body = serializers.CharField(max_length=BODY_MAX_LENGTH)

    @extend_schema(summary="A discussion", responses=DiscussionOutput)
    def get(self, request: Request, discussion_id: int) -> Response:
        discussion, _access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        return Response(DiscussionOutput(discussion, context={"with_images": True}).data)

    @extend_schema(
        summary="Edit your discussion (within the edit window)",
        request=DiscussionEditInput,
        responses={200: DiscussionOutput, **error_responses(403)},
    )
    def patch(self, request: Request, discussion_id: int) -> Response:
        discussion, _access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        serializer = self.DiscussionEditInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        edited = posts.post_edit(
            post=discussion,
            by=_me(request),
            title=serializer.validated_data["title"],
            body=serializer.validated_data["body"],
        )
        edited.author = discussion.author
        return Response(DiscussionOutput(edited, context={"with_images": True}).data)

    @extend_schema(summary="Delete your discussion", responses={204: None, **error_responses(403)})
    def delete(self, request: Request, discussion_id: int) -> Response:
        discussion, _access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        posts.post_delete(post=discussion, by=_me(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReplyListCreateApi(APIView):
    class ReplyPageQuery(serializers.Serializer):
        after = serializers.IntegerField(required=False, min_value=0, max_value=SEQ_MAX)
        before = serializers.IntegerField(required=False, min_value=1, max_value=SEQ_MAX)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100)

    class ReplyCreateInput(serializers.Serializer):
        body = serializers.CharField(max_length=REPLY_MAX_LENGTH)
        quote_of = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=ROW_ID_MAX
        )

    @extend_schema(
        summary="Replies in order; after=seq to catch up, before=seq for older",
        parameters=[ReplyPageQuery],
        responses=inline_serializer(
            "ReplyPage",
            {"replies": ReplyOutput(many=True), "has_more": serializers.BooleanField()},
        ),
    )
    def get(self, request: Request, discussion_id: int) -> Response:
        discussion, access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        query = self.ReplyPageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page, has_more = selectors.reply_page(
            discussion=discussion,
            access=access,
            user=_me(request),
            after=params.get("after"),
            before=params.get("before"),
            limit=params.get("limit", selectors.REPLIES_PER_PAGE),
        )
        return Response(
            {"replies": [live.reply_payload(reply) for reply in page], "has_more": has_more}
        )

    @extend_schema(
        summary="Reply (quote_of: the id of the reply you answer)",
        request=ReplyCreateInput,
        responses={201: ReplyOutput, **error_responses(403)},
    )
    def post(self, request: Request, discussion_id: int) -> Response:
        discussion, access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        serializer = self.ReplyCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote_of = None
        if serializer.validated_data.get("quote_of"):
            quote_of = (
                Reply.objects.select_related("author")
                .filter(pk=serializer.validated_data["quote_of"], discussion=discussion)
                .first()
            )
            if quote_of is None:
                raise DomainError(
                    "The reply you answer is not in this discussion.",
                    fields={"quote_of": ["Not found."]},
                )
        reply = posts.reply_post(
            access=access,
            discussion=discussion,
            author=_me(request),
            body=serializer.validated_data["body"],
            quote_of=quote_of,
        )
        return Response(live.reply_payload(reply), status=status.HTTP_201_CREATED)


class ReplyDetailApi(APIView):
    class ReplyEditInput(serializers.Serializer):
        body = serializers.CharField(max_length=REPLY_MAX_LENGTH)

    @extend_schema(
        summary="Edit your reply (within the edit window)",
        request=ReplyEditInput,
        responses={200: ReplyOutput, **error_responses(403)},
    )
    def patch(self, request: Request, reply_id: int) -> Response:
        reply, _access = selectors.reply_access(reply_id=reply_id, user=_me(request))
        serializer = self.ReplyEditInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        edited = posts.post_edit(
            post=reply, by=_me(request), body=serializer.validated_data["body"]
        )
        edited.author = reply.author
        return Response(live.reply_payload(cast(Reply, edited)))

    @extend_schema(summary="Delete your reply", responses={204: None, **error_responses(403)})
    def delete(self, request: Request, reply_id: int) -> Response:
        reply, _access = selectors.reply_access(reply_id=reply_id, user=_me(request))
        posts.post_delete(post=reply, by=_me(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReactionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReactionKind.choices)


class DiscussionReactionApi(APIView):
    @extend_schema(
        summary="Add or take back a reaction on a discussion",
        request=ReactionInput,
        responses={200: ReactionsOutput, **error_responses(403)},
    )
    def post(self, request: Request, discussion_id: int) -> Response:
        discussion, access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        serializer = ReactionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        on, counts = reactions.reaction_toggle(
            access=access,
            user=_me(request),
            discussion=discussion,
            reply=None,
            kind=serializer.validated_data["kind"],
        )
        return Response({"on": on, "counts": counts})


class ReplyReactionApi(APIView):
    @extend_schema(
        summary="Add or take back a reaction on a reply",
        request=ReactionInput,
        responses={200: ReactionsOutput, **error_responses(403)},
    )
    def post(self, request: Request, reply_id: int) -> Response:
        reply, access = selectors.reply_access(reply_id=reply_id, user=_me(request))
        serializer = ReactionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        on, counts = reactions.reaction_toggle(
            access=access,
            user=_me(request),
            discussion=reply.discussion,
            reply=reply,
            kind=serializer.validated_data["kind"],
        )
        return Response({"on": on, "counts": counts})


class FollowApi(APIView):
    FollowOutput = inline_serializer("Follow", {"following": serializers.BooleanField()})

    @extend_schema(
        summary="Follow a discussion",
        request=None,
        responses={200: FollowOutput, **error_responses(403)},
    )
    def put(self, request: Request, discussion_id: int) -> Response:
        discussion, access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        if not access.is_member:
            raise DomainError(
                "Join the group to follow its discussions.", code="not_a_member", status_code=403
            )
        return Response(
            {"following": reactions.follow_set(user=_me(request), discussion=discussion, on=True)}
        )

    @extend_schema(summary="Stop following a discussion", responses={200: FollowOutput})
    def delete(self, request: Request, discussion_id: int) -> Response:
        discussion, _access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        reactions.follow_set(user=_me(request), discussion=discussion, on=False)
        return Response({"following": False})


# --- reports and moderation ----------------------------------------------------------------


class ReportCreateApi(APIView):
    class ReportInput(serializers.Serializer):
        discussion = serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX)
        reply = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=ROW_ID_MAX
        )
        reason = serializers.CharField(max_length=REASON_MAX_LENGTH)

    ReportOutput = inline_serializer(
        "CommunityReport", {"id": serializers.IntegerField(), "status": serializers.CharField()}
    )

    @extend_schema(
        summary="Report a discussion or one of its replies to the group's moderators",
        request=ReportInput,
        responses={201: ReportOutput, **error_responses(403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.ReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        discussion, access = selectors.discussion_access(
            discussion_id=data["discussion"], user=_me(request)
        )
        reply = None
        if data.get("reply"):
            reply, access = selectors.reply_access(reply_id=data["reply"], user=_me(request))
            if reply.discussion_id != discussion.pk:
                raise NotFound("No such reply.")
        report = moderation.post_report(
            access=access,
            reporter=_me(request),
            discussion=discussion,
            reply=reply,
            reason=data["reason"],
        )
        return Response({"id": report.pk, "status": report.status}, status=status.HTTP_201_CREATED)


class ModerationQueueApi(APIView):
    QueueOutput = inline_serializer(
        "ModerationQueue",
        {
            "reports": inline_serializer(
                "QueuedReport",
                {
                    "id": serializers.IntegerField(),
                    "reason": serializers.CharField(),
                    "discussion": serializers.IntegerField(),
                    "reply": serializers.IntegerField(allow_null=True),
                    "created_at": serializers.DateTimeField(),
                },
                many=True,
            ),
            "held_discussions": DiscussionOutput(many=True),
            "held_replies": ReplyOutput(many=True),
        },
    )

    @extend_schema(
        summary="The group's moderation queue: reported and held posts", responses=QueueOutput
    )
    def get(self, request: Request, group_id: int) -> Response:
        access = selectors.group_access(group_id=group_id, user=_me(request), need="moderate")
        queue = selectors.moderation_queue(group=access.group)
        return Response(
            {
                "reports": [
                    {
                        "id": report.pk,
                        "reason": report.reason,
                        "discussion": report.discussion_id,
                        "reply": report.reply_id,
                        "created_at": report.created_at,
                    }
                    for report in queue["reports"]
                ],
                "held_discussions": DiscussionOutput(queue["held_discussions"], many=True).data,
                "held_replies": [live.reply_payload(reply) for reply in queue["held_replies"]],
            }
        )


class ModerateInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["approve", "hide", "restore", "remove"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX_LENGTH)


ModeratedOutput = inline_serializer(
    "Moderated", {"status": serializers.CharField(), "moderation_reason": serializers.CharField()}
)


class DiscussionModerateApi(APIView):
    @extend_schema(
        summary="Approve, hide, restore or remove a discussion (the author is told why)",
        request=ModerateInput,
        responses={200: ModeratedOutput, **error_responses(409)},
    )
    def post(self, request: Request, discussion_id: int) -> Response:
        discussion, access = selectors.discussion_access(
            discussion_id=discussion_id, user=_me(request)
        )
        if not access.can_moderate:
            raise NotFound("No such discussion.")
        serializer = ModerateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        moderated = moderation.post_moderate(
            access=access,
            moderator=_me(request),
            post=discussion,
            action=serializer.validated_data["action"],
            reason=serializer.validated_data.get("reason", ""),
        )
        return Response(
            {"status": moderated.status, "moderation_reason": moderated.moderation_reason}
        )


class ReplyModerateApi(APIView):
    @extend_schema(
        summary="Approve, hide, restore or remove a reply (the author is told why)",
        request=ModerateInput,
        responses={200: ModeratedOutput, **error_responses(409)},
    )
    def post(self, request: Request, reply_id: int) -> Response:
        reply, access = selectors.reply_access(reply_id=reply_id, user=_me(request))
        if not access.can_moderate:
            raise NotFound("No such reply.")
        serializer = ModerateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        moderated = moderation.post_moderate(
            access=access,
            moderator=_me(request),
            post=reply,
            action=serializer.validated_data["action"],
            reason=serializer.validated_data.get("reason", ""),
        )
        return Response(
            {"status": moderated.status, "moderation_reason": moderated.moderation_reason}
        )


# --- notifications -------------------------------------------------------------------------


class NotificationListApi(APIView):
    pagination_class = Pages

    @extend_schema(
        summary="Your community notifications, newest first",
        responses=NotificationOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = (
            paginator.paginate_queryset(
                selectors.notifications_for(user=_me(request)), request, view=self
            )
            or []
        )
        return paginator.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationReadApi(APIView):
    class ReadInput(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX),
            required=False,
            max_length=500,
        )

    @extend_schema(
        summary="Mark notifications read (all, or the given ids)",
        request=ReadInput,
        responses=inline_serializer("NotificationsRead", {"marked": serializers.IntegerField()}),
    )
    def post(self, request: Request) -> Response:
        serializer = self.ReadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications.notification_mark_read(
            user=_me(request), ids=serializer.validated_data.get("ids")
        )
        return Response({"marked": marked})


class DigestPreferenceApi(APIView):
    class PreferenceSerializer(serializers.Serializer):
        frequency = serializers.ChoiceField(choices=DigestFrequency.choices)

    @extend_schema(
        summary="How often community notifications are e-mailed", responses=PreferenceSerializer
    )
    def get(self, request: Request) -> Response:
        preference = notifications.digest_preference_for(user=_me(request))
        return Response({"frequency": preference.frequency})

    @extend_schema(
        summary="Set how often community notifications are e-mailed",
        request=PreferenceSerializer,
        responses={200: OpenApiResponse(PreferenceSerializer)},
    )
    def put(self, request: Request) -> Response:
        serializer = self.PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preference = notifications.digest_preference_set(
            user=_me(request), frequency=serializer.validated_data["frequency"]
        )
        return Response({"frequency": preference.frequency})
