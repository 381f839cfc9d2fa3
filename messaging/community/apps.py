from django.apps import AppConfig


class CommunityConfig(AppConfig):
    """Groups and discussions, inside messaging: they share its real-time layer, its
    attachment checks, its rate limits and its suspension."""

    name = "messaging.community"
    label = "community"
    verbose_name = "Community"
    default_auto_field = "django.db.models.BigAutoField"
