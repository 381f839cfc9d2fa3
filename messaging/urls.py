from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("start/", views.start, name="start"),
    path("<int:thread_id>/", views.thread_detail, name="thread"),
    path("<int:thread_id>/send/", views.send, name="send"),
    path("<int:thread_id>/block/", views.block, name="block"),
    path("<int:thread_id>/unblock/", views.unblock, name="unblock"),
    path("<int:thread_id>/messages/<int:message_id>/report/", views.report, name="report"),
    path("<int:thread_id>/attachments/<int:message_id>/", views.attachment, name="attachment"),
]
