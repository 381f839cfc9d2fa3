"""Invoices where people see them: the client's Billing page (pay now, the PDF), the
coach's earnings page, the PDF address that checks who asks, and ``/api/invoices/``; lists
paginated in a constant number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import factory
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.views.billing import INVOICES_PER_PAGE
from payments.models import Invoice, InvoiceStatus
from tests.bookings import plan_setup
from tests.bookings.conftest import stripe_coach
from tests.bookings.plan_setup import plan_of
from tests.factories import CoachUserFactory, UserFactory
from tests.mfa import sign_in_with_totp

pytestmark = pytest.mark.django_db

JAN = datetime(2027, 1, 15, 8, tzinfo=UTC)


class InvoiceFactory(factory.django.DjangoModelFactory):
    """A local row only (a plan's paid invoice); tests of Stripe's side make real ones."""

    class Meta:
        model = Invoice

    stripe_invoice_id = factory.Sequence(lambda n: f"in_test{n:012d}")
    customer_user = factory.SubFactory(UserFactory)
    payee = factory.SubFactory(CoachUserFactory)
    number = factory.Sequence(lambda n: f"ABCD1234-{n + 1:04d}")
    status = InvoiceStatus.PAID
    billing_reason = "subscription_cycle"
    currency = "usd"
    subtotal = 40000
    total = 40000
    amount_due = 40000
    amount_paid = 40000
    hosted_invoice_url = factory.LazyAttribute(
        lambda o: f"http://testserver/_stripe/invoices/{o.stripe_invoice_id}/"
    )
    invoice_pdf = factory.LazyAttribute(
        lambda o: f"http://testserver/_stripe/invoices/{o.stripe_invoice_id}/pdf/"
    )
    period_start = JAN
    period_end = JAN + timedelta(days=31)
    issued_at = JAN
    paid_at = JAN


def _rows(page: str) -> int:
    return page.count('data-testid="invoice"')


def _queries(client, url: str) -> int:
    client.get(url)  # what the first page of a session caches (the unread badge)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


# --- the client's Billing page -----------------------------------------------------------


def test_billing_lists_the_clients_invoices_with_pay_now_and_the_pdf(client):
    # given: a paid invoice, an open one, a draft, and another client's
    payer = UserFactory(time_zone="Europe/Zurich")
    paid = InvoiceFactory(customer_user=payer, number="ABCD1234-0001")
    waiting = InvoiceFactory(
        customer_user=payer,
        number="ABCD1234-0002",
        status=InvoiceStatus.OPEN,
        amount_paid=0,
        amount_remaining=40000,
        paid_at=None,
        issued_at=JAN + timedelta(days=31),
    )
    InvoiceFactory(customer_user=payer, status=InvoiceStatus.DRAFT, number="")
    InvoiceFactory(number="ZZZZ9999-0001")

    # when
    client.force_login(payer)
    page = client.get(reverse("bookings:billing")).content.decode()

    # then: the client's two finalized invoices, newest first, with what each allows
    assert _rows(page) == 2
    assert page.index("ABCD1234-0002") < page.index("ABCD1234-0001")
    assert "ZZZZ9999" not in page
    assert "15 Jan 2027 – 15 Feb 2027" in page and "$400.00" in page
    assert page.count('data-testid="invoice-pay"') == 1
    assert f'href="{waiting.hosted_invoice_url}"' in page
    for invoice in (paid, waiting):
        assert reverse("payments:invoice_pdf", args=[invoice.pk]) in page


def test_billing_pages_invoices_in_a_constant_number_of_queries(client):
    payer = UserFactory()
    InvoiceFactory.create_batch(2, customer_user=payer)
    client.force_login(payer)
    few = _queries(client, reverse("bookings:billing"))
    InvoiceFactory.create_batch(23, customer_user=payer)
    many = _queries(client, reverse("bookings:billing"))
    assert many == few
    page = client.get(reverse("bookings:billing")).content.decode()
    assert _rows(page) == INVOICES_PER_PAGE and "Page 1 of 3" in page
    third = client.get(reverse("bookings:billing") + "?invoices_page=3").content.decode()
    assert _rows(third) == 25 - 2 * INVOICES_PER_PAGE


def test_billing_without_invoices_says_so(client):
    client.force_login(UserFactory())
    assert "No invoices yet." in client.get(reverse("bookings:billing")).content.decode()


# --- the coach's earnings page -------------------------------------------------------------


def test_the_coachs_earnings_list_their_subscribers_invoices(client):
    coach = CoachUserFactory()
    subscriber = UserFactory(first_name="Maya", last_name="Lind")
    InvoiceFactory(payee=coach, customer_user=subscriber, number="PAYEE000-0001")
    InvoiceFactory(number="OTHER000-0001")
    client.force_login(coach)
    page = client.get(reverse("payments:earnings")).content.decode()
    assert _rows(page) == 1
    assert "PAYEE000-0001" in page and "Maya Lind" in page and "OTHER000" not in page
    assert 'data-testid="invoice-pay"' not in page  # the subscriber pays, not the coach
    few = _queries(client, reverse("payments:earnings"))
    InvoiceFactory.create_batch(5, payee=coach)
    assert _queries(client, reverse("payments:earnings")) == few


# --- the PDF ------------------------------------------------------------------------------


def test_the_pdf_is_for_its_payer_its_payee_and_staff(client):
    invoice = InvoiceFactory()
    url = reverse("payments:invoice_pdf", args=[invoice.pk])
    for viewer in (invoice.customer_user, invoice.payee):
        client.force_login(viewer)
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == invoice.invoice_pdf
    staff = Client()
    sign_in_with_totp(staff, UserFactory(is_staff=True))
    assert staff.get(url)["Location"] == invoice.invoice_pdf
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.get(reverse("payments:invoice_pdf", args=[invoice.pk + 1000])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to sign in
    assert "/accounts/login/" in client.get(url)["Location"]


def test_a_real_invoices_pdf_is_rendered_by_stripe(
    client, stripe_local, django_capture_on_commit_callbacks
):
    # given: a client subscribed to a plan on the local Stripe
    with django_capture_on_commit_callbacks(execute=True):
        coach, session_type = stripe_coach()
    plan = plan_of(coach, session_type)
    user, _clock = plan_setup.clock_client()
    plan_subscription = plan_setup.subscribe_and_pay(user, plan, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(subscription=plan_subscription.subscription)

    # when: the client downloads it from Billing
    client.force_login(user)
    page = client.get(reverse("bookings:billing")).content.decode()
    assert invoice.number in page
    response = client.get(reverse("payments:invoice_pdf", args=[invoice.pk]))

    # then: Stripe's PDF
    pdf = client.get(urlsplit(response["Location"]).path)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f"Invoice {invoice.number}".encode() in pdf.content
    # and the coach sees it among their subscribers' invoices
    client.force_login(coach.user)
    assert invoice.number in client.get(reverse("payments:earnings")).content.decode()


def test_a_draft_has_no_pdf_yet(client):
    draft = InvoiceFactory(status=InvoiceStatus.DRAFT, number="", invoice_pdf="")
    client.force_login(draft.customer_user)
    assert client.get(reverse("payments:invoice_pdf", args=[draft.pk])).status_code == 404


# --- the API -----------------------------------------------------------------------------


def test_the_api_lists_the_callers_invoices_as_client_or_as_coach():
    payer = UserFactory()
    coach = CoachUserFactory()
    mine = InvoiceFactory.create_batch(3, customer_user=payer, payee=coach)
    InvoiceFactory(payee=coach)  # another client of the coach's
    InvoiceFactory()  # nobody's here
    api = APIClient()
    api.force_authenticate(payer)

    listed = api.get("/api/invoices/").json()
    assert listed["count"] == 3
    assert [row["id"] for row in listed["results"]] == [i.pk for i in reversed(mine)]
    row = listed["results"][0]
    assert (row["customer"], row["payee"], row["status"]) == (payer.pk, coach.pk, "paid")
    assert (row["total"], row["currency"], row["amount_paid"]) == (40000, "usd", 40000)
    assert row["pdf_url"].endswith(reverse("payments:invoice_pdf", args=[mine[-1].pk]))
    assert row["lines"] == [] and row["payee_name"] == coach.display_name
    # the payer has no invoices as a coach
    assert api.get("/api/invoices/?role=coach").json()["count"] == 0

    api.force_authenticate(coach)
    assert api.get("/api/invoices/?role=coach").json()["count"] == 4
    assert api.get("/api/invoices/").json()["count"] == 0
    refused = api.get("/api/invoices/?role=staff")
    assert refused.status_code == 400 and "role" in refused.json()["error"]["fields"]

    api.force_authenticate(None)
    assert api.get("/api/invoices/").status_code in (401, 403)


def test_the_api_pages_invoices_in_a_constant_number_of_queries():
    payer = UserFactory()
    InvoiceFactory.create_batch(2, customer_user=payer)
    api = APIClient()
    api.force_authenticate(payer)
    api.get("/api/invoices/")
    with CaptureQueriesContext(connection) as few:
        api.get("/api/invoices/")
    InvoiceFactory.create_batch(30, customer_user=payer)
    with CaptureQueriesContext(connection) as many:
        first = api.get("/api/invoices/").json()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert first["count"] == 32 and len(first["results"]) == 20 and first["next"]


def test_paying_someone_elses_invoice_through_the_api_is_404():
    invoice = InvoiceFactory(status=InvoiceStatus.OPEN, amount_paid=0)
    api = APIClient()
    api.force_authenticate(UserFactory())
    assert api.post(f"/api/invoices/{invoice.pk}/pay/").status_code == 404
    assert api.post("/api/invoices/999999/pay/").status_code == 404


def test_the_schema_documents_the_invoice_list(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/invoices/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"page", "role"}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("PaginatedInvoiceOutList")
    assert "/api/invoices/{id}/pay/" in schema["paths"]
