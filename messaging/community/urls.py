from django.urls import path

from messaging.community import views

app_name = "community"
urlpatterns = [
    path("", views.index, name="index"),
    path("groups/new/", views.group_new, name="group_new"),
    path("groups/<int:group_id>/", views.group_detail, name="group"),
    path("groups/<int:group_id>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:group_id>/cover/", views.group_cover, name="group_cover"),
    path("groups/<int:group_id>/join/", views.join, name="join"),
    path("groups/<int:group_id>/leave/", views.leave, name="leave"),
    path("groups/<int:group_id>/members/", views.members, name="members"),
    path("groups/<int:group_id>/members/invite/", views.invite, name="invite"),
    path(
        "groups/<int:group_id>/members/<int:user_id>/",
        views.member_action,
        name="member_action",
    ),
    path("groups/<int:group_id>/new/", views.discussion_new, name="discussion_new"),
    path("groups/<int:group_id>/moderation/", views.moderation_queue, name="moderation"),
    path("discussions/<int:discussion_id>/", views.discussion_detail, name="discussion"),
    path("discussions/<int:discussion_id>/edit/", views.discussion_edit, name="discussion_edit"),
    path(
        "discussions/<int:discussion_id>/delete/",
        views.discussion_delete,
        name="discussion_delete",
    ),
    path("discussions/<int:discussion_id>/reply/", views.reply_create, name="reply"),
    path("discussions/<int:discussion_id>/react/", views.discussion_react, name="discussion_react"),
    path("discussions/<int:discussion_id>/follow/", views.follow, name="follow"),
    path(
        "discussions/<int:discussion_id>/report/",
        views.discussion_report,
        name="discussion_report",
    ),
    path(
        "discussions/<int:discussion_id>/moderate/",
        views.discussion_moderate,
        name="discussion_moderate",
    ),
    path("discussions/<int:discussion_id>/history/", views.history, name="history"),
    path(
        "discussions/<int:discussion_id>/images/<int:image_id>/",
        views.image,
        name="image",
    ),
    path("replies/<int:reply_id>/edit/", views.reply_edit, name="reply_edit"),
    path("replies/<int:reply_id>/delete/", views.reply_delete, name="reply_delete"),
    path("replies/<int:reply_id>/react/", views.reply_react, name="reply_react"),
    path("replies/<int:reply_id>/report/", views.reply_report, name="reply_report"),
    path("replies/<int:reply_id>/moderate/", views.reply_moderate, name="reply_moderate"),
    path("reports/<int:report_id>/dismiss/", views.report_dismiss, name="report_dismiss"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/email/", views.digest_preference, name="digest_preference"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
