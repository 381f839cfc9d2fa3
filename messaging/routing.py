from django.urls import path

from messaging.consumers import MessagingConsumer

websocket_urlpatterns = [
    path("ws/messages/", MessagingConsumer.as_asgi(), name="messaging_ws"),
    path(
        "ws/messages/threads/<int:thread_id>/",
        MessagingConsumer.as_asgi(),
        name="messaging_thread_ws",
    ),
]
