from django.urls import path

from messaging import api

urlpatterns = [
    path("messages/threads/", api.ThreadListCreateApi.as_view(), name="messaging_api_threads"),
    path(
        "messages/threads/<int:thread_id>/",
        api.ThreadDetailApi.as_view(),
        name="messaging_api_thread",
    ),
    path(
        "messages/threads/<int:thread_id>/messages/",
        api.MessageCreateApi.as_view(),
        name="messaging_api_messages",
    ),
    path(
        "messages/threads/<int:thread_id>/read/",
        api.ThreadReadApi.as_view(),
        name="messaging_api_read",
    ),
]
