import logging

from django.apps import AppConfig

logger = logging.getLogger("marketplace")


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from allauth.account.signals import user_signed_up
        from django.conf import settings
        from django.core import checks

        from marketplace.celery import settle_configuration
        from marketplace.checks import stripe_configuration
        from marketplace.timezones import take_browser_zone_at_sign_up

        checks.register(stripe_configuration, checks.Tags.security)
        user_signed_up.connect(take_browser_zone_at_sign_up, dispatch_uid="browser-zone")
        settle_configuration()

        logger.info("database: %s", settings.DATABASE_SOURCE)
        logger.info("redis: %s", settings.REDIS_SOURCE)
        logger.info(
            "stripe: %s",
            "local Stripe sandbox" if settings.STRIPE_SANDBOX else "Stripe API (STRIPE_SECRET_KEY)",
        )
