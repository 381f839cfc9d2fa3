"""Reconciliation: our money rows checked against Stripe's balance transactions.

Each run covers the balance transactions Stripe created since the last run ended, for the
platform and every connected account; what does not agree is kept as a discrepancy. A run
with none records that it was clean.
"""

from __future__ import annotations

from django.db import models


class ReconciliationRun(models.Model):
    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        CLEAN = "clean", "Clean"
        DISCREPANCIES = "discrepancies", "Discrepancies found"
        FAILED = "failed", "Could not finish"

    # Balance transactions created in [window_start, window_end) (Stripe's clock).
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField()
    # What the run found (a result, not a state: a run is written once, when it ends).
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.RUNNING, db_index=True
    )
    accounts_checked = models.PositiveIntegerField(default=0)
    transactions_checked = models.PositiveIntegerField(default=0)
    discrepancy_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation {self.pk} ({self.outcome})"


class ReconciliationDiscrepancy(models.Model):
    """One disagreement between Stripe's ledger and ours."""

    class Kind(models.TextChoices):
        # Stripe moved money we have no row for.
        UNKNOWN_TO_US = "unknown_to_us", "Stripe moved money we have no row for"
        # Both know the movement; the amounts differ.
        AMOUNT_MISMATCH = "amount_mismatch", "Amounts differ"
        # Our row says money moved; Stripe has no balance transaction for it.
        MISSING_AT_STRIPE = "missing_at_stripe", "Not in Stripe's balance transactions"

    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="discrepancies"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # "" for the platform, else the connected account's id.
    stripe_account_id = models.CharField(max_length=255, blank=True)
    balance_transaction_type = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    stripe_amount = models.BigIntegerField(null=True, blank=True)
    our_amount = models.BigIntegerField(null=True, blank=True)
    # Our row, as "<model> <pk>" (payment 12, refund 7, ...), when there is one.
    our_row = models.CharField(max_length=80, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"
