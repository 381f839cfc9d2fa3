from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Register Stripe's event handlers and the tasks services queue by name, so none is
        # missing in a web or worker process.
        import payments.tasks
        import payments.webhook_handlers  # noqa: F401
