from django.urls import path

from messaging.community.consumers import CommunityConsumer

websocket_urlpatterns = [
    path(
        "ws/community/groups/<int:group_id>/",
        CommunityConsumer.as_asgi(),
        name="community_group_ws",
    ),
    path(
        "ws/community/discussions/<int:discussion_id>/",
        CommunityConsumer.as_asgi(),
        name="community_discussion_ws",
    ),
]
