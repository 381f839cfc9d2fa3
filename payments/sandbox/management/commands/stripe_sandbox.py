"""The local Stripe's controls from the command line (development).

manage.py stripe_sandbox status
manage.py stripe_sandbox advance --days 2 --hours 3
manage.py stripe_sandbox deliver
manage.py stripe_sandbox onboard acct_... [--outcome leave_due]
manage.py stripe_sandbox reset --yes
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.sandbox import controls
from payments.sandbox.errors import StripeError
from payments.sandbox.onboarding import ONBOARDING_OUTCOMES


class Command(BaseCommand):
    help = "Control the local Stripe: status, advance the clock, deliver events, onboard, reset."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        commands.add_parser("status", help="clock, endpoints and pending deliveries")
        advance = commands.add_parser("advance", help="move the sandbox clock forward")
        advance.add_argument("--days", type=int, default=0)
        advance.add_argument("--hours", type=int, default=0)
        advance.add_argument("--seconds", type=int, default=0)
        commands.add_parser("deliver", help="deliver pending webhook events now")
        onboard = commands.add_parser("onboard", help="finish an account's onboarding")
        onboard.add_argument("account")
        onboard.add_argument("--outcome", choices=ONBOARDING_OUTCOMES, default="complete")
        reset = commands.add_parser("reset", help="forget all sandbox state")
        reset.add_argument("--yes", action="store_true", help="really forget everything")

    def handle(self, *args, command: str, **options):
        if not settings.STRIPE_SANDBOX:
            raise CommandError("STRIPE_SECRET_KEY is set: the local Stripe is not in use.")
        try:
            getattr(self, f"do_{command}")(**options)
        except StripeError as error:
            raise CommandError(error.message) from error

    def _time(self, timestamp: int) -> str:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def do_status(self, **options):
        self.stdout.write(f"sandbox clock: {self._time(controls.now())}")
        for delivery in controls.deliveries()[-10:]:
            self.stdout.write(
                f"  {delivery.event_type} -> {delivery.endpoint.url}: {delivery.status} "
                f"({delivery.last_status_code or '-'})"
            )
        self.stdout.write(f"pending events: {len(controls.pending_events())}")

    def do_advance(self, days: int, hours: int, seconds: int, **options):
        total = days * 86400 + hours * 3600 + seconds
        if total <= 0:
            raise CommandError("give --days, --hours or --seconds (more than zero)")
        self.stdout.write(f"sandbox clock now {self._time(controls.advance_clock(total))}")

    def do_deliver(self, **options):
        statuses = controls.deliver_pending_events()
        self.stdout.write(f"delivered {len(statuses)}: {statuses}")

    def do_onboard(self, account: str, outcome: str, **options):
        result = controls.complete_onboarding(account, outcome)
        self.stdout.write(
            f"{account}: charges_enabled={result['charges_enabled']} "
            f"payouts_enabled={result['payouts_enabled']}"
        )

    def do_reset(self, yes: bool, **options):
        if not yes:
            raise CommandError("this forgets every sandbox object: add --yes")
        controls.reset()
        controls.register_default_endpoints()
        self.stdout.write("local Stripe reset; webhook endpoints registered again")
