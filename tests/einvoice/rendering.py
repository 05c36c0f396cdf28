"""A real plain PDF for an EDocument, from the project's borb renderer and built-in template."""

from __future__ import annotations

from service.einvoice.document import EDocument, Party


def render_data(doc: EDocument) -> dict:
    """The renderer's data dict (shape of service.templates.invoice_data) for `doc`."""
    return {
        "invoice": {"number": doc.number, "issue_date": doc.issue_date.isoformat(),
                    "period_start": _iso(doc.period_start), "period_end": _iso(doc.period_end),
                    "currency": doc.currency, "subtotal": doc.subtotal, "tax_rate": doc.tax_rate,
                    "tax": doc.tax, "total": doc.total, "status": "ISSUED"},
        "bill_to": _party(doc.buyer),
        "seller": {**_party(doc.seller), "bank_details": f"IBAN {doc.seller_iban}\nBIC {doc.seller_bic}"},
        "lines": [{"destination_group": line.destination_group, "calls": line.calls or 0,
                   "billed_seconds": line.billed_seconds or 0, "amount": line.amount} for line in doc.lines],
    }


def plain_pdf(doc: EDocument) -> bytes:
    from service.render import BUILTIN_TEMPLATE_SOURCE, RenderJob, render_pdf

    job = RenderJob(source=BUILTIN_TEMPLATE_SOURCE, logo=None, data=render_data(doc),
                    document_date=f"{doc.issue_date.isoformat()}T00:00:00Z", document_id=doc.number)
    return render_pdf(job)


def _party(party: Party) -> dict:
    lines = [*party.address_lines, f"{party.postal_code} {party.city}".strip(), party.country_code]
    return {"name": party.name, "address_lines": [line for line in lines if line], "tax_id": party.tax_id,
            "email": party.email}


def _iso(day) -> str:
    return day.isoformat() if day else ""
