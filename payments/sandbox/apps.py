from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "payments.sandbox"
    label = "stripe_sandbox"
    verbose_name = "Local Stripe"
