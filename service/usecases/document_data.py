"""What a document's PDF shows: the renderer's data dict of an invoice or credit note (only
primitives from the stored document and the seller pinned before it)."""
from domain.credit_note import CreditNote
from domain.invoice import Invoice
from domain.reseller import VatCategory
from domain.seller import SellerDetails

REVERSE_CHARGE_NOTE = "Reverse charge"


def invoice_data(invoice: Invoice, seller: SellerDetails) -> dict:
    return {
        "invoice": {"number": invoice.number, "issue_date": invoice.issue_date,
                    "period_start": invoice.period["start"], "period_end": invoice.period["end"],
                    "currency": invoice.currency, "subtotal": invoice.subtotal, "tax_rate": invoice.tax_rate,
                    "tax": invoice.tax, "total": invoice.total, "status": invoice.status,
                    "due_date": invoice.due_date},
        "document": {"title": "Invoice", "reference": "", "vat_note": vat_note(invoice.bill_to)},
        "bill_to": bill_to_data(invoice.bill_to),
        "seller": seller.as_dict(),
        "lines": [dict(line) for line in invoice.lines],
    }


def credit_note_data(note: CreditNote, seller: SellerDetails) -> dict:
    """On a credit note invoice.* hold its own number, issue date and totals, the period is the
    credited invoice's, and the lines are the credited ones (SPEC §13)."""
    return {
        "invoice": {"number": note.number, "issue_date": note.issue_date, "period_start": note.period["start"],
                    "period_end": note.period["end"], "currency": note.currency, "subtotal": note.subtotal,
                    "tax_rate": note.tax_rate, "tax": note.tax, "total": note.total, "status": "ISSUED",
                    "due_date": note.issue_date},
        "document": {"title": "Credit note", "reference": note.reference(), "vat_note": vat_note(note.bill_to)},
        "bill_to": bill_to_data(note.bill_to),
        "seller": seller.as_dict(),
        "lines": [dict(line) for line in note.lines],
    }


def bill_to_data(bill_to: dict) -> dict:
    return {"name": bill_to.get("name", ""), "address_lines": list(bill_to.get("address_lines", ())),
            "tax_id": bill_to.get("tax_id", ""), "email": bill_to.get("email", ""),
            "country_code": bill_to.get("country_code", ""), "postal_code": bill_to.get("postal_code", ""),
            "city": bill_to.get("city", "")}


def vat_note(bill_to: dict) -> str:
    return REVERSE_CHARGE_NOTE if bill_to.get("vat_category") == VatCategory.REVERSE_CHARGE else ""
