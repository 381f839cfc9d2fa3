"""Demo data for development: safe to run again (every row is keyed and updated in place)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from bookings.demo import seed_demo_packages, seed_demo_plan, seed_demo_reviews
from coaches.demo import seed_demo_coaches, seed_demo_membership_plans
from marketplace.demo import DEMO_PASSWORD, DEMO_STAFF_TOTP_SECRET, seed_demo_users
from messaging.demo import seed_demo_conversations
from payments.demo import demo_connect_accounts
from payments.gateway import stripe_client


class Command(BaseCommand):
    help = "Create or refresh demo coaches, clients and a staff user."

    def handle(self, *args, **options) -> None:
        users = seed_demo_users()
        coach_users = seed_demo_coaches()  # coach@demo.coach is among them
        users += [user for user in coach_users if user not in users]
        self._connect_demo_coaches(coach_users)
        seed_demo_packages(coach_users)
        self._demo_plan(coach_users)
        seed_demo_reviews()
        seed_demo_conversations()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        for user in users:
            staff = ", staff" if user.is_staff else ""
            self.stdout.write(f"  {user.email:<32} {DEMO_PASSWORD:<14} ({user.role}{staff})")
        self.stdout.write(
            f"Staff sign in with a TOTP code too: add the secret {DEMO_STAFF_TOTP_SECRET} to an "
            "authenticator app, or print the current code: .venv/bin/python manage.py demo_totp"
        )

    def _demo_plan(self, coach_users) -> None:
        """A coaching plan of the main demo coach and the platform memberships offered (their
        Prices made on the local Stripe, in-process, as the accounts are)."""
        if not settings.STRIPE_SANDBOX:
            return
        stripe_client.cache_clear()
        try:
            with override_settings(STRIPE_SANDBOX_IN_PROCESS=True):
                plan = seed_demo_plan(coach_users)
                offered = seed_demo_membership_plans()
        finally:
            stripe_client.cache_clear()
        if plan is not None:
            self.stdout.write(f"Demo coaching plan: {plan}")
        for membership_plan in offered:
            self.stdout.write(f"Demo platform membership: {membership_plan}")

    def _connect_demo_coaches(self, coach_users) -> None:
        """Give demo coaches an active Express account on the local Stripe.

        ``seed_demo`` runs before the web server is up, so it reaches the local Stripe
        in-process (its state is in the same database the running product uses).
        """
        if not settings.STRIPE_SANDBOX:
            return
        stripe_client.cache_clear()
        try:
            with override_settings(STRIPE_SANDBOX_IN_PROCESS=True):
                accounts = demo_connect_accounts(coach_users)
        finally:
            stripe_client.cache_clear()
        self.stdout.write(f"Demo coaches with an active Stripe account: {len(accounts)}")
