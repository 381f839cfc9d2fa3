from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "GOOGLE_SIGNIN_ENABLED": settings.GOOGLE_SIGNIN_ENABLED,
        "DEV_MAIL_ENABLED": settings.DEV_MAIL_ENABLED,
        "STRIPE_SANDBOX": settings.STRIPE_SANDBOX,
        "SITE_NAME": settings.SITE_NAME,
        # The zone pages show times in, named beside them (marketplace/timezones.py).
        "viewer_time_zone": getattr(request, "viewer_time_zone", "UTC"),
    }
