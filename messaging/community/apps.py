from django.apps import AppConfig


class CommunityConfig(AppConfig):
    """Groups and discussions, inside messaging: they share its real-time layer, its
    attachment checks, its rate limits and its suspension."""

    name = "messaging.community"
    label = "community"
    verbose_name = "Community"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from marketplace.account import AccountSection, account_section_register
        from messaging.community.views import digest_preference_section

        # The account settings page (marketplace) shows how often community notifications
        # are e-mailed, beside the other optional e-mails.
        account_section_register(
            AccountSection(
                key="community-email",
                title="Community e-mails",
                template="messaging/community/_account_digest.html",
                context=digest_preference_section,
                order=60,
            )
        )
