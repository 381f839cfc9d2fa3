from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Register Stripe's event handlers and the tasks services queue by name, so none is
        # missing in a web or worker process.
        import payments.tasks
        import payments.webhook_dispatch  # a worker queues the webhooks received (on worker_ready)
        import payments.webhook_handlers
        import payments.webhook_handlers_billing  # noqa: F401
        from payments import purposes
        from payments.models import TransferKind
        from payments.services import payout_requests, transfers

        # What each kind of separate transfer is for is told what happens to it: a package
        # share's refusal is told to staff and the coach; a staff payout follows its transfer.
        purposes.register_transfer(
            purposes.TransferPurpose(
                kind=TransferKind.PACKAGE_SHARE, transfer_failed=transfers.package_share_failed
            )
        )
        purposes.register_transfer(payout_requests.STAFF_PAYOUT_PURPOSE)

        # The onboarding funnel, money health and webhooks on the staff operations page.
        from payments import operations

        operations.register_sections()

        # the webhook lag and backlog, failed transfers at /metrics
        from marketplace.observability import register_collector
        from payments.metrics import PaymentMetrics

        register_collector("payments", PaymentMetrics())
