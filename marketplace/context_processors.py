from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "GOOGLE_SIGNIN_ENABLED": settings.GOOGLE_SIGNIN_ENABLED,
        "DEV_MAIL_ENABLED": settings.DEV_MAIL_ENABLED,
        "STRIPE_SANDBOX": settings.STRIPE_SANDBOX,
    }
