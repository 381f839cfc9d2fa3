"""WebSocket routes of every app, gathered for the ASGI application."""

from messaging.routing import websocket_urlpatterns as messaging_routes

websocket_urlpatterns = [*messaging_routes]
