"""Demo data for development: safe to run again (every row is keyed and updated in place)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from marketplace.demo import DEMO_PASSWORD, seed_demo_users


class Command(BaseCommand):
    help = "Create or refresh demo coaches, clients and a staff user."

    def handle(self, *args, **options) -> None:
        users = seed_demo_users()
        from coaches.demo import seed_demo_coaches

        coach_users = seed_demo_coaches()  # coach@demo.coach is among them
        users += [user for user in coach_users if user not in users]
        from messaging.demo import seed_demo_conversations

        seed_demo_conversations()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        for user in users:
            staff = ", staff" if user.is_staff else ""
            self.stdout.write(f"  {user.email:<32} {DEMO_PASSWORD:<14} ({user.role}{staff})")
