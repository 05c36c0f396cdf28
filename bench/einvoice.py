"""E-invoice costs (issue #14): a 20-line invoice as a Factur-X PDF beside the plain PDF, and its
CII and UBL XML export — in-process, as the server does it (render, then embed; build the XML).

    .venv/bin/python bench/einvoice.py [--rounds 30]

Goals: Factur-X PDF p50 <= 2x the plain PDF; XML export p50 <= 10 ms.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.seller import SellerDetails  # noqa: E402
from service.einvoice.cii import cii_xml  # noqa: E402
from service.einvoice.facturx_pdf import facturx_pdf  # noqa: E402
from service.einvoice.ubl import ubl_xml  # noqa: E402
from service.render.job import BUILTIN_REVISION, RenderJob, builtin_template_source  # noqa: E402
from service.render.renderer import render_pdf  # noqa: E402
from service.usecases.document_data import invoice_data  # noqa: E402
from service.usecases.einvoicing import edocument  # noqa: E402

SELLER = SellerDetails.parse(name="Switchboard GmbH", address_lines=["Hauptstraße 1"], tax_id="DE123456788",
                             country_code="DE", postal_code="10115", city="Berlin", iban="DE89370400440532013000")


def invoice(lines: int):
    rows = [{"destination_group": f"Destination group {i:02d}", "calls": 100 + i, "billed_seconds": 6000 + i,
             "amount": f"{10 + i}.50"} for i in range(lines)]
    subtotal = sum(10 + i + 0.5 for i in range(lines))
    return SimpleNamespace(
        id="00000000-0000-0000-0000-000000000001", number="100001/2026", issue_date="2026-04-01",
        due_date="2026-05-01", period={"start": "2026-03-01", "end": "2026-03-31"}, currency="EUR",
        lines=rows, subtotal=f"{subtotal:.2f}", tax_rate="0.19", tax=f"{subtotal * 0.19:.2f}",
        total=f"{subtotal + round(subtotal * 0.19, 2):.2f}", status="ISSUED", reseller_id="r1",
        issued_at=datetime(2026, 4, 1, 10, tzinfo=timezone.utc), template_version=0,
        bill_to={"name": "Zürich Telecom AG", "address_lines": ["Bahnhofstrasse 1"], "postal_code": "8001",
                 "city": "Zürich", "country_code": "CH", "tax_id": "CHE-123.456.789", "vat_category": "STANDARD"})


def p50(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    inv = invoice(20)
    job = RenderJob(builtin_template_source(BUILTIN_REVISION), None, invoice_data(inv, SELLER),
                    "2026-04-01T10:00:00Z", "bench")
    edoc = edocument(inv, SELLER)
    render_pdf(job)  # fonts and borb loaded once, as in a warm render worker
    plain = p50(lambda: render_pdf(job), args.rounds)
    plain_bytes = render_pdf(job)
    embed = p50(lambda: facturx_pdf(plain_bytes, cii_xml(edoc), edoc), args.rounds)
    cii = p50(lambda: cii_xml(edoc), args.rounds)
    ubl = p50(lambda: ubl_xml(edoc), args.rounds)
    facturx = plain + embed
    print(f"E-invoices, 20-line invoice, in-process; {date.today()}; machine: {os.cpu_count()} cores")
    print(f"  plain PDF render                 p50 {plain:7.2f} ms")
    print(f"  Factur-X PDF (render + embed)    p50 {facturx:7.2f} ms  ({embed:.2f} ms to embed the CII, "
          f"PDF/A-3 metadata) = {facturx / plain:.2f}x plain   goal <= 2x -> {'MET' if facturx <= 2 * plain else 'MISSED'}")
    print(f"  CII XML                          p50 {cii:7.2f} ms   goal <= 10 ms -> {'MET' if cii <= 10 else 'MISSED'}")
    print(f"  UBL XML                          p50 {ubl:7.2f} ms   goal <= 10 ms -> {'MET' if ubl <= 10 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
