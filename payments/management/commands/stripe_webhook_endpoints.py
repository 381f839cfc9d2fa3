"""Create or update the platform and Connect webhook endpoints at Stripe.

manage.py stripe_webhook_endpoints --base-url https://coach.example.com

Each endpoint listens to exactly the event types its handler table handles
(``docs/webhooks.md``); a new endpoint's signing secret is printed once, as Stripe shows it
once: put it in the setting printed beside it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.errors import PaymentProviderError
from payments.services.webhook_endpoints import webhook_endpoints_configure


class Command(BaseCommand):
    help = "Create or update the two webhook endpoints at Stripe with the event types we handle."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=settings.SITE_URL,
            help="the public address Stripe delivers to (default: SITE_URL)",
        )

    def handle(self, *args, base_url: str, **options):
        if not base_url.startswith(("https://", "http://")):
            raise CommandError(f"--base-url must be an http(s) address, not {base_url!r}")
        try:
            configured = webhook_endpoints_configure(base_url=base_url)
        except PaymentProviderError as error:
            raise CommandError(error.message) from error
        for endpoint in configured:
            verb = "created" if endpoint.created else "updated"
            self.stdout.write(
                f"{endpoint.endpoint} endpoint {endpoint.stripe_id} {verb}: {endpoint.url}"
            )
            self.stdout.write(f"  events: {', '.join(endpoint.enabled_events)}")
            if endpoint.secret:
                self.stdout.write(f"  {endpoint.secret_setting}={endpoint.secret}")
            else:
                self.stdout.write(
                    f"  signing secret unchanged: Stripe shows it only when an endpoint is "
                    f"created (Dashboard > Webhooks); keep it in {endpoint.secret_setting}"
                )
