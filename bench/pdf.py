"""Benchmark: the borb renderer vs a reportlab platypus baseline on 1-page and multi-page invoices.

Run: .venv/bin/python bench/pdf.py [--runs N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import pypdf

from service.render import BUILTIN_TEMPLATE_SOURCE, RenderJob, render_pdf
from service.render.content import minutes
from service.render.fonts import FONT_DIR

from common import print_header


def invoice(lines: int) -> dict:
    return {
        "invoice": {"number": "100001/2026", "issue_date": "2026-03-01", "period_start": "2026-02-01",
                    "period_end": "2026-02-28", "currency": "EUR", "subtotal": "1234.50",
                    "tax_rate": "0.19", "tax": "234.56", "total": "1469.06", "status": "ISSUED"},
        "bill_to": {"name": "Łódź Telekom Sp. z o.o.", "address_lines": ["ul. Piotrkowska 1", "90-001 Łódź"],
                    "tax_id": "PL1234567890", "email": "billing@lodz.example"},
        "seller": {"name": "Switchboard GmbH", "address_lines": ["Bahnhofstraße 5", "8001 Zürich"],
                   "tax_id": "CHE-123.456.789", "email": "billing@switchboard.example",
                   "bank_details": "IBAN CH93 0076 2011 6238 5295 7\nBIC UBSWCHZH80A"},
        "lines": [{"destination_group": f"Москва mobile {i}", "calls": 12, "billed_seconds": 3600 + i,
                   "amount": "12.34"} for i in range(lines)],
    }


def borb_render(data: dict) -> bytes:
    return render_pdf(RenderJob(BUILTIN_TEMPLATE_SOURCE, None, data, "2026-03-01T10:00:00Z", "bench"))


def reportlab_render(data: dict) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    body = ParagraphStyle("b", fontName="DejaVu", fontSize=9, leading=12)
    h1 = ParagraphStyle("h", fontName="DejaVu-Bold", fontSize=17, leading=21)
    inv, seller, bill = data["invoice"], data["seller"], data["bill_to"]
    story = [Paragraph("<br/>".join([f"<b>{seller['name']}</b>", *seller["address_lines"],
                                     f"Tax ID: {seller['tax_id']}"]), body), Spacer(1, 8),
             Paragraph(f"Invoice {inv['number']}", h1),
             Paragraph(f"Issue date: {inv['issue_date']}<br/>Period: {inv['period_start']} to {inv['period_end']}", body),
             Paragraph("<br/>".join([f"<b>{bill['name']}</b>", *bill["address_lines"], f"Tax ID: {bill['tax_id']}"]), body)]
    rows = [["Destination group", "Calls", "Minutes", "Amount"]] + [
        [line["destination_group"], str(line["calls"]), minutes(line["billed_seconds"]),
         f"{line['amount']} {inv['currency']}"] for line in data["lines"]]
    table = Table(rows, repeatRows=1, colWidths=[213, 74, 84, 124])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "DejaVu", 9), ("FONT", (0, 0), (-1, 0), "DejaVu-Bold", 9),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.lightgrey)]))
    totals = Table([["Subtotal", f"{inv['subtotal']} EUR"], ["Tax (19 %)", f"{inv['tax']} EUR"],
                    ["Total", f"{inv['total']} EUR"]], colWidths=[165, 135], hAlign="RIGHT")
    totals.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "DejaVu", 9), ("ALIGN", (1, 0), (1, -1), "RIGHT")]))
    story += [Spacer(1, 8), table, Spacer(1, 8), totals, Paragraph(seller["bank_details"].replace("\n", "<br/>"), body)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=50, rightMargin=50, topMargin=42, bottomMargin=56).build(story)
    return buffer.getvalue()


def measure(render, data: dict, runs: int) -> tuple[float, float, int]:
    """(median wall ms, median CPU ms, bytes); CPU time is the steadier figure on a busy machine."""
    output = render(data)  # warm-up: imports, font subset cache
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        output = render(data)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu), len(output)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="timed renders per case (median; default 10)")
    runs = ap.parse_args().runs
    print_header("PDF: the borb renderer vs a reportlab platypus baseline (in this process)")
    start = time.perf_counter()
    borb_render(invoice(20))
    print(f"cold first render (imports, font subsetting): {(time.perf_counter() - start) * 1000:.0f} ms")
    print(f"{'case':<20}{'borb ms':>9}{'(cpu)':>7}{'borb KB':>9}{'rl ms':>8}{'(cpu)':>7}{'rl KB':>7}{'ratio':>7}")
    for lines in (20, 500):
        b_ms, b_cpu, b_size = measure(borb_render, invoice(lines), runs)
        r_ms, r_cpu, r_size = measure(reportlab_render, invoice(lines), runs)
        pages = len(pypdf.PdfReader(io.BytesIO(borb_render(invoice(lines)))).pages)
        print(f"{f'{lines} lines ({pages} p.)':<20}{b_ms:>9.1f}{b_cpu:>7.1f}{b_size / 1024:>9.1f}{r_ms:>8.1f}"
              f"{r_cpu:>7.1f}{r_size / 1024:>7.1f}{b_ms / r_ms:>6.1f}x")
    print(f"median of {runs} runs after one warm-up; targets: 1 page <= 60 ms and <= 60 KB")


if __name__ == "__main__":
    main()
