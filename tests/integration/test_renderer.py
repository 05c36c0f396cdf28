"""The invoice PDF renderer: layout, determinism, Unicode, previews, borb hygiene, worker pool."""

import hashlib
import io
import signal
import socket
import subprocess
import sys
import textwrap
import threading

import pypdf
import pytest

from domain.errors import InvalidArgument
from service.render import (
    BUILTIN_TEMPLATE_SOURCE, RenderFailed, RenderJob, RenderPool, render_pdf,
)
from service.render.content import minutes, percent
from service.render.logo import check_logo

DATE = "2026-03-01T10:00:00Z"


def invoice_data(lines: int = 20, group: str = "Group {:04d}") -> dict:
    return {
        "invoice": {"number": "100001/2026", "issue_date": "2026-03-01", "period_start": "2026-02-01",
                    "period_end": "2026-02-28", "currency": "EUR", "subtotal": "1234.50", "tax_rate": "0.19",
                    "tax": "234.56", "total": "1469.06", "status": "ISSUED"},
        "bill_to": {"name": "Łódź Telekom Sp. z o.o.", "address_lines": ["ul. Żeromskiego 7", "90-001 Łódź"],
                    "tax_id": "PL1234567890", "email": "billing@lodz.example"},
        "seller": {"name": "Switchboard GmbH", "address_lines": ["Bahnhofstraße 5", "8001 Zürich"],
                   "tax_id": "CHE-123.456.789", "email": "billing@switchboard.example",
                   "bank_details": "IBAN CH93 0076 2011 6238 5295 7\nBIC UBSWCHZH80A"},
        "lines": [{"destination_group": group.format(i), "calls": 12, "billed_seconds": 3600 + i,
                   "amount": "12.34"} for i in range(lines)],
    }


def job(data=None, source=BUILTIN_TEMPLATE_SOURCE, logo=None, document_id="inv-1") -> RenderJob:
    return RenderJob(source=source, logo=logo, data=data, document_date=DATE, document_id=document_id)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def png_logo(size=(300, 100)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", size, (20, 60, 160, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def one_page() -> bytes:
    return render_pdf(job(invoice_data(20)))


@pytest.fixture(scope="module")
def pool():
    with RenderPool(max_workers=2, recycle_after=3) as started:
        yield started


def test_twenty_line_invoice_is_one_page_with_every_part(one_page):
    (text,) = pages_text(one_page)
    for expected in ("Invoice 100001/2026", "Switchboard GmbH", "Destination group", "Group 0019",
                     "60.32", "Tax (19 %)", "1469.06 EUR", "IBAN CH93", "Page 1 of 1"):
        assert expected in text
    assert one_page.startswith(b"%PDF-") and len(one_page) < 60_000


def test_five_hundred_lines_break_across_pages_with_the_header_on_each():
    texts = pages_text(render_pdf(job(invoice_data(500))))
    assert len(texts) > 5
    assert all("Destination group" in text and "Amount" in text for text in texts[:-1])
    joined = "\n".join(texts)
    assert all(joined.count(f"Group {i:04d}") == 1 for i in range(500))
    assert f"Page {len(texts)} of {len(texts)}" in texts[-1]


def test_same_job_renders_identical_bytes_and_metadata_is_fixed(one_page):
    again = render_pdf(job(invoice_data(20)))
    assert again == one_page
    reader = pypdf.PdfReader(io.BytesIO(again))
    assert reader.metadata["/CreationDate"] == "D:20260301100000Z"
    assert render_pdf(job(invoice_data(20), document_id="other")) != one_page


def test_another_process_renders_identical_bytes(one_page):
    script = textwrap.dedent(f"""
        import hashlib, sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from test_renderer import invoice_data, job
        from service.render import render_pdf
        sys.stdout.write(hashlib.sha256(render_pdf(job(invoice_data(20)))).hexdigest())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, timeout=60)
    assert result.stdout.decode() == hashlib.sha256(one_page).hexdigest()


def test_german_french_polish_cyrillic_text_is_extractable():
    data = invoice_data(3, group="Straße ä é ż Ł Москва {}")
    data["bill_to"]["name"] = "Société Générale Ærø"
    text = pages_text(render_pdf(job(data)))[0]
    for expected in ("Straße ä é ż Ł Москва 1", "Société Générale Ærø", "Łódź", "Zürich"):
        assert expected in text


def test_glyph_missing_from_the_font_becomes_a_question_mark():
    data = invoice_data(1, group="Tokyo 東京 {} 😀 \x07end")
    text = pages_text(render_pdf(job(data)))[0]
    assert "Tokyo ?? 0 ? ?end" in text


def test_preview_shows_every_placeholder_literally():
    text = pages_text(render_pdf(job(None)))[0]
    for name in ("invoice.number", "seller.name", "bill_to.address_lines", "invoice.total", "logo",
                 "line.destination_group"):
        assert "{{ " + name + " }}" in text


def test_substituted_values_are_never_parsed_again():
    data = invoice_data(1)
    data["invoice"]["number"] = "{{ seller.name }} **x**"
    text = pages_text(render_pdf(job(data, source="No {{ invoice.number }}")))[0]
    assert "No {{ seller.name }} **x**" in text


@pytest.mark.parametrize("source", ["{{ ''.__class__.__mro__ }}", "{{ invoice.number.__class__ }}",
                                    "{{ __import__('os').system('touch /tmp/pwned') }}", "{{ x|safe }}"])
def test_hostile_template_is_rejected_without_running(source):
    with pytest.raises(RenderFailed, match="template rejected: line 1, column 1"):
        render_pdf(job(invoice_data(1), source=source))


def test_plain_text_long_words_and_page_breaks_render():
    source = "Just text " + "x" * 3000 + "\n---pagebreak---\nSecond page\n" + ("word " * 4000)
    texts = pages_text(render_pdf(job(invoice_data(1), source=source)))
    assert len(texts) >= 3 and "Second page" in texts[1]


def test_money_and_minutes_are_exact_decimal_strings():
    assert [minutes(s) for s in (0, 1, 3, 30, 3600, 3601)] == ["0.00", "0.02", "0.05", "0.50", "60.00", "60.02"]
    assert [percent(r) for r in ("0.19", "0.075", "0", "1")] == ["19 %", "7.5 %", "0 %", "100 %"]
    data = invoice_data(1)
    data["invoice"]["total"] = 1469.06
    with pytest.raises(RenderFailed, match="floats"):
        render_pdf(job(data))


def test_logo_is_placed_and_garbage_logo_fails_clearly():
    pdf = render_pdf(job(invoice_data(2), logo=png_logo()))
    resources = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    assert "/XObject" in resources
    for bad in (b"garbage", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, b"\xff\xd8\xff" + b"x" * (512 * 1024)):
        with pytest.raises(RenderFailed, match="logo"):
            render_pdf(job(invoice_data(2), logo=bad))
        with pytest.raises(InvalidArgument):
            check_logo(bad)


def test_no_logo_placeholder_renders_nothing_without_a_logo():
    text = pages_text(render_pdf(job(invoice_data(1), source="{{ logo }}\nHello")))[0]
    assert "logo" not in text and "Hello" in text


def test_render_keeps_signal_handlers_and_opens_no_connection(monkeypatch):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for index in range(3):
        render_pdf(job(invoice_data(2), document_id=str(index)))
    assert attempts == []
    assert {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} == before


def test_licence_notice_never_reaches_stdout_over_seventy_documents():
    script = textwrap.dedent("""
        import signal
        from service.render import RenderJob, render_pdf
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        for i in range(70):
            render_pdf(RenderJob("# Doc {{ invoice.number }}", None, {"invoice": {"number": str(i)}},
                                 "2026-03-01T10:00:00Z", str(i)))
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""


def test_pool_renders_from_eight_threads_identically(pool, one_page):
    results, errors = [], []

    def render():
        try:
            results.append(pool.render(job(invoice_data(20))))
        except Exception as error:  # collected, asserted below
            errors.append(error)

    threads = [threading.Thread(target=render) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == [] and len(results) == 8
    assert set(results) == {one_page}  # 8 renders on 2 workers recycled every 3: also after recycling


def test_pool_reports_garbage_logo_as_render_failed_and_keeps_working(pool, one_page):
    with pytest.raises(RenderFailed, match="PNG or JPEG"):
        pool.render(job(invoice_data(20), logo=b"not an image"))
    assert pool.render(job(invoice_data(20))) == one_page


def test_pool_turns_a_dead_worker_into_render_failed_and_replaces_it(pool, one_page):
    workers = [pool._idle.get() for _ in range(2)]
    for worker in workers:
        worker.process.kill()
        worker.process.join()
        pool._idle.put(worker)
    with pytest.raises(RenderFailed, match="worker died"):
        pool.render(job(invoice_data(20)))
    with pytest.raises(RenderFailed, match="worker died"):
        pool.render(job(invoice_data(20)))
    assert pool.render(job(invoice_data(20))) == one_page


def test_a_latin_subset_is_cut_from_the_precut_latin_font_with_the_same_bytes():
    """fonts._subset_bytes cuts Latin character sets from a pre-cut Latin font (2x faster, issue #11);
    the bytes must be those of cutting the whole font, or old invoices' PDFs would change."""
    import random

    from service.render import fonts

    latin = sorted(fonts.latin_chars() - fonts.BASE_CHARS)
    rnd = random.Random(11)
    charsets = [frozenset(fonts.BASE_CHARS)] + [
        frozenset(fonts.BASE_CHARS | set(rnd.sample(latin, rnd.randint(1, 40)))) for _ in range(12)]
    for style in fonts.FONT_FILES:
        for chars in charsets:
            assert chars <= fonts.latin_chars()
            assert fonts._subset_bytes(style, chars) == fonts._cut(fonts._stripped(style), chars)
    cyrillic = frozenset(fonts.BASE_CHARS | set("Москва"))  # outside: cut from the whole font
    assert not cyrillic <= fonts.latin_chars()
    from fontTools.ttLib import TTFont
    cmap = TTFont(io.BytesIO(fonts._subset_bytes("regular", cyrillic))).getBestCmap()
    assert all(ord(c) in cmap for c in "Москва")


def test_a_subset_cut_by_one_process_is_taken_from_the_shared_directory_by_the_next(tmp_path, monkeypatch):
    from service.render import fonts

    cut = []
    real = fonts._subset_bytes
    monkeypatch.setattr(fonts, "_subset_bytes", lambda style, chars: cut.append(style) or real(style, chars))
    chars = frozenset(fonts.BASE_CHARS | set("Göteborg"))
    try:
        fonts.share_subsets(str(tmp_path))
        first = fonts._shared_subset_bytes("bold", chars)
        second = fonts._shared_subset_bytes("bold", chars)  # as another worker would: read, not cut
    finally:
        fonts.share_subsets(None)
    assert first == second == real("bold", chars) and cut == ["bold"]
    assert [p.name.startswith("bold-") for p in tmp_path.iterdir()] == [True]  # no temporary file left


def test_the_pool_workers_share_their_subsets_and_the_pool_removes_them_when_closed():
    import os

    data = invoice_data(3)
    data["bill_to"]["name"] = "Ærøskøbing Tele ApS"  # a character set nobody rendered before
    with RenderPool(max_workers=2) as pool:
        assert pool.render(job(data, document_id="shared-fonts")).startswith(b"%PDF")
        shared = sorted(name.split("-")[0] for name in os.listdir(pool._fonts_dir))
        directory = pool._fonts_dir
    assert shared.count("regular") >= 1 and shared.count("bold") >= 1
    assert not os.path.exists(directory)
