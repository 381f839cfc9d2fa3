from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        # Register the webhook handlers: ours, then every app's ``webhook_handlers`` module
        # (``@payments.handlers.handles("event.type")``), so no handler is missing in a worker.
        import payments.handlers  # noqa: F401

        autodiscover_modules("webhook_handlers")
