import logging

from django.apps import AppConfig

logger = logging.getLogger("marketplace")


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        from marketplace.celery import settle_configuration
        from marketplace.checks import stripe_configuration

        checks.register(stripe_configuration, checks.Tags.security)
        settle_configuration()

        logger.info("database: %s", settings.DATABASE_SOURCE)
        logger.info("redis: %s", settings.REDIS_SOURCE)
        logger.info(
            "stripe: %s",
            "local Stripe sandbox" if settings.STRIPE_SANDBOX else "Stripe API (STRIPE_SECRET_KEY)",
        )
