"""Print the code the demo staff account's authenticator shows now (development)."""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand

from marketplace.demo import DEMO_STAFF_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo staff account (admin@demo.coach)."

    def handle(self, *args, **options) -> None:
        now = int(time.time())
        period = mfa_settings.TOTP_PERIOD
        code = format_hotp_value(hotp_value(DEMO_STAFF_TOTP_SECRET, now // period))
        self.stdout.write(f"{code}  (valid for {period - now % period} more seconds)")
