"""Set the local Stripe up as a platform's Dashboard would be (idempotent): the product's
webhook endpoints, and the customer portal's settings saved once (its default
configuration, which the product's portal sessions use)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Register the platform and Connect webhook endpoints on the local Stripe and save its "
        "customer portal settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site-url", default=settings.SITE_URL)

    def handle(self, *args, site_url: str, **options):
        if not settings.STRIPE_SANDBOX:
            self.stdout.write("STRIPE_SECRET_KEY is set: real Stripe in use, nothing to do.")
            return
        from payments.sandbox import billing_portal, controls

        for endpoint in controls.register_default_endpoints(site_url):
            kind = "connect" if endpoint.connect else "platform"
            self.stdout.write(f"local Stripe: {kind} webhook endpoint {endpoint.url}")
        if billing_portal.default_configuration() is None:
            configuration = controls.save_portal_settings()
            self.stdout.write(
                f"local Stripe: customer portal settings saved ({configuration['id']})"
            )
