"""Register the product's webhook endpoints with the local Stripe (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Register the platform and Connect webhook endpoints on the local Stripe."

    def add_arguments(self, parser):
        parser.add_argument("--site-url", default=settings.SITE_URL)

    def handle(self, *args, site_url: str, **options):
        if not settings.STRIPE_SANDBOX:
            self.stdout.write("STRIPE_SECRET_KEY is set: real Stripe in use, nothing to do.")
            return
        from payments.sandbox import controls

        for endpoint in controls.register_default_endpoints(site_url):
            kind = "connect" if endpoint.connect else "platform"
            self.stdout.write(f"local Stripe: {kind} webhook endpoint {endpoint.url}")
