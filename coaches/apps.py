from django.apps import AppConfig


class CoachesConfig(AppConfig):
    name = "coaches"

    def ready(self) -> None:
        from coaches import selectors
        from coaches.services import profiles
        from payments.services.accounts import AccountHolder, account_holder_register

        # payments, a layer below, asks for the coach's public page for their Stripe account
        # and tells coaches when the account can or can no longer take charges.
        account_holder_register(
            AccountHolder(
                public_url=lambda user: selectors.coach_public_url(user) or "",
                charges_enabled_changed=lambda user, enabled: profiles.coach_set_charges_enabled(
                    coach=user, enabled=enabled
                ),
            )
        )
