from django.apps import AppConfig


class CoachesConfig(AppConfig):
    name = "coaches"

    def ready(self) -> None:
        from coaches import selectors, signals
        from coaches.services import memberships, profiles
        from coaches.views.dashboard import account_photo_section
        from marketplace.account import AccountSection, account_section_register
        from payments.services.accounts import AccountHolder, account_holder_register

        # The home page's cached catalogue learns of every change to what it shows.
        signals.connect()
        # payments, a layer below, tells coaches what happens to a platform membership's
        # subscription.
        memberships.register()
        # payments, a layer below, asks for the coach's public page for their Stripe account,
        # the currency of their prices and the platform fee they pay (their membership's,
        # when they are a member), and tells coaches when the account can or can no longer
        # take charges.
        account_holder_register(
            AccountHolder(
                public_url=lambda user: selectors.coach_public_url(user) or "",
                charges_enabled_changed=lambda user, enabled: profiles.coach_set_charges_enabled(
                    coach=user, enabled=enabled
                ),
                currency=lambda user: selectors.coach_currency(user) or "",
                fee_terms=selectors.user_fee_terms,
            )
        )
        # The account settings page (marketplace) shows a coach's photo, and a new time zone
        # chosen there moves the coach's working hours' zone with it.
        account_section_register(
            AccountSection(
                key="photo",
                title="Your photo",
                template="coaches/_account_photo.html",
                context=account_photo_section,
                order=20,
                profile_saved=profiles.coach_time_zone_follow_account,
            )
        )
