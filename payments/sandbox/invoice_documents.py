"""An invoice's hosted page and its PDF, as Stripe serves them at ``hosted_invoice_url`` and
``invoice_pdf`` (reachable by anyone with the link, as Stripe's are)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF

from marketplace.money import format_money
from payments.sandbox.models import StripeObject

STATUS_LABELS = {
    "draft": "Draft",
    "open": "Due",
    "paid": "Paid",
    "uncollectible": "Uncollectible",
    "void": "Void",
}


def invoice_by_secret(secret: str) -> dict[str, Any] | None:
    row = StripeObject.objects.filter(object_type="invoice", internal__secret=secret).first()
    return row.data if row is not None else None


def _day(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%d %b %Y")


def invoice_summary(invoice: dict[str, Any]) -> dict[str, Any]:
    """What the page and the PDF show: amounts formatted in the invoice's currency, dates in
    UTC (as Stripe's documents are dated)."""
    currency = invoice["currency"]
    paid_at = invoice["status_transitions"]["paid_at"]
    return {
        "number": invoice["number"] or invoice["id"],
        "status": STATUS_LABELS.get(invoice["status"], invoice["status"]),
        "issued": _day(invoice["status_transitions"]["finalized_at"] or invoice["created"]),
        "paid_on": _day(paid_at),
        "customer": invoice["customer_email"] or invoice["customer_name"] or invoice["customer"],
        "business": invoice["account_name"],
        "description": invoice["description"],
        "lines": [
            {
                "description": line["description"],
                "quantity": line["quantity"],
                "period": f"{_day(line['period']['start'])} to {_day(line['period']['end'])}"
                if line["period"]["start"] != line["period"]["end"]
                else "",
                "amount": format_money(line["amount"], currency),
            }
            for line in invoice["lines"]["data"]
        ],
        "total": format_money(invoice["total"], currency),
        "amount_paid": format_money(invoice["amount_paid"], currency),
        "amount_due": format_money(invoice["amount_remaining"], currency),
    }


def invoice_pdf(invoice: dict[str, Any]) -> bytes:
    summary = invoice_summary(invoice)
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # a few lines of text: kept readable
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, f"Invoice {summary['number']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for label, value in (
        ("From", summary["business"]),
        ("To", summary["customer"]),
        ("Issued", summary["issued"]),
        ("Status", summary["status"] + (f" on {summary['paid_on']}" if summary["paid_on"] else "")),
    ):
        pdf.cell(30, 7, label)
        pdf.cell(0, 7, _latin1(str(value or "")), new_x="LMARGIN", new_y="NEXT")
    if summary["description"]:
        pdf.multi_cell(0, 7, _latin1(summary["description"]))
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(110, 8, "Description", border="B")
    pdf.cell(20, 8, "Qty", border="B", align="R")
    pdf.cell(0, 8, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for line in summary["lines"]:
        text = line["description"] + (f" ({line['period']})" if line["period"] else "")
        pdf.cell(110, 8, _latin1(text)[:70])
        pdf.cell(20, 8, str(line["quantity"]), align="R")
        pdf.cell(0, 8, _latin1(line["amount"]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    for label, value in (
        ("Total", summary["total"]),
        ("Amount paid", summary["amount_paid"]),
        ("Amount due", summary["amount_due"]),
    ):
        pdf.cell(130, 8, label, align="R")
        pdf.cell(0, 8, _latin1(value), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The PDF's core font writes Latin-1: other characters (a currency sign outside it) are
    replaced rather than refused."""
    return text.replace("\u20ac", "EUR ").encode("latin-1", "replace").decode("latin-1")
