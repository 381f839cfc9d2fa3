"""The one Celery app: the worker and beat both run it."""

import os

from celery import Celery

# A worker or beat started without a choice runs production settings, which fail closed.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _reuse_redis_client() -> None:
    """Publishing on the Redis transport builds a new ``redis.Redis`` (its ~80 response
    callbacks) for every message, over the channel's connection pool. Reuse one per channel
    and pool: a client over a pool is thread-safe and holds no connection of its own. This
    is about a fifth of each ``apply_async`` (every webhook received queues one)."""
    from kombu.transport import redis as kombu_redis

    create = kombu_redis.Channel._create_client

    def create_client(self, asynchronous=False):  # type: ignore[no-untyped-def]
        if asynchronous:
            return create(self, asynchronous)
        client = self.__dict__.get("_reused_client")
        if client is None or client.connection_pool is not self.pool:
            client = self.__dict__["_reused_client"] = create(self)
        return client

    kombu_redis.Channel._create_client = create_client  # type: ignore[method-assign]


_reuse_redis_client()
