"""One ASGI application: Django pages over HTTP and, through Channels, WebSockets.

HTTP goes to Django's WSGI handler on a pool of threads (``a2wsgi``), not to its ASGI
handler: every view and middleware here is synchronous, and the ASGI handler's per-request
hops between the event loop and threads cost several times the work of a small view
(a bare view served 169-286 requests/s through it and 815-1,038 through the thread pool, with
uvicorn ``--workers 2`` and 20 clients on this 2-core machine; see docs/architecture.md).
WebSockets stay on the event loop with Channels.
"""

import os
from typing import Any

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

# A server started without a choice runs production settings, which fail closed.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from bookings.asgi import HoldEndpoint, is_hold  # noqa: E402
from marketplace.routing import websocket_urlpatterns  # noqa: E402


def http_application(wsgi_app: Any, threads: int) -> Any:
    """Django on a pool of ``threads`` threads; with the local Stripe, its ``/_stripe/``
    requests get a pool of their own. A hold waits for its Checkout Session from the local
    Stripe over HTTP, served by this same process: sharing one pool, ``threads`` holds at
    once would each wait for a thread that is itself waiting."""
    main = WSGIMiddleware(wsgi_app, workers=threads)
    # A hold awaits its Checkout Session on the event loop; its database work runs on the
    # main pool's threads (bookings/asgi.py).
    holds = HoldEndpoint(wsgi_app, main.executor)
    local_stripe = WSGIMiddleware(wsgi_app, workers=threads) if settings.STRIPE_SANDBOX else None

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        if is_hold(scope):
            await holds(scope, receive, send)
        elif local_stripe is not None and scope["path"].startswith("/_stripe/"):
            await local_stripe(scope, receive, send)
        else:
            await main(scope, receive, send)

    return dispatch


application = ProtocolTypeRouter(
    {
        "http": http_application(django_wsgi_app, settings.WEB_THREADS),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
