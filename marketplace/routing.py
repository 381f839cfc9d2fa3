"""WebSocket routes of every app, gathered for the ASGI application."""

from messaging.community.routing import websocket_urlpatterns as community_routes
from messaging.routing import websocket_urlpatterns as messaging_routes

websocket_urlpatterns = [*messaging_routes, *community_routes]
