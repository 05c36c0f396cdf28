"""TemplateService and RenderInvoicePdf end to end: versions, pinning, byte-identical PDFs, seller."""
import hashlib
import io
import threading

import grpc
import pypdf
import pytest

from billing.v1 import invoice_pb2, numbering_pb2, template_pb2, template_pb2_grpc
from helpers import Stubs, bad_request_fields, call, create, reseller, send
from service.config import Settings, parse_database_url
from service.server import create_server

TEMPLATE = "# Rechnung {{ invoice.number }}\n{{ bill_to.name }}\n{{ bill_to.address_lines }}\n\n" \
           "From {{ seller.name }}\n\n{{ lines_table }}\n\n{{ totals_table }}\n"


class Api:
    def __init__(self, channel):
        self.stubs = Stubs(channel)
        self.templates = template_pb2_grpc.TemplateServiceStub(channel)

    def upload(self, source=TEMPLATE, name="Standard", logo=b"", make_default=False):
        return self.templates.UploadTemplate(template_pb2.UploadTemplateRequest(
            name=name, source=source, logo=logo, make_default=make_default))

    def versions(self):
        response = self.templates.ListTemplates(template_pb2.ListTemplatesRequest())
        return [(t.version, t.name, t.is_default) for t in response.templates]

    def invoice(self, start="2026-03-01", end="2026-03-31"):
        return create(self.stubs, start, end)

    def pdf(self, invoice_id):
        return self.stubs.invoices.RenderInvoicePdf(invoice_pb2.RenderInvoicePdfRequest(invoice_id=invoice_id))

    def set_seller(self, name="Switchboard AG", **kw):
        return self.templates.UpdateSeller(template_pb2.Seller(name=name, **kw))


@pytest.fixture
def api(channel):
    api = Api(channel)
    api.stubs.resellers.UpsertReseller(reseller(address_lines=["Bahnhofstrasse 1", "8001 Zürich", "Москва"]))
    send(api.stubs, [call("c1"), call("c2", group="Poland Fixed", seconds=90, amount="0.5")])
    return api


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def png(size=(30, 10)) -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def error_of(fn, *args, **kw) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, **kw)
    return err.value


def test_uploads_count_from_one_without_gaps_and_keep_the_exact_source(api):
    first = api.upload(source="Plain text\r\nno placeholders  \n", name="Plain")
    second = api.upload(logo=png(), make_default=True)
    assert (first.version, second.version) == (1, 2)
    assert second.is_default and second.has_logo and second.position > first.position > 0
    shown = api.templates.GetTemplate(template_pb2.GetTemplateRequest(version=1))
    assert shown.source == "Plain text\r\nno placeholders  \n" and shown.name == "Plain"
    assert api.versions() == [(0, "Built-in", False), (1, "Plain", False), (2, "Standard", True)]


def test_built_in_version_zero_is_the_default_until_another_is_made_default(api):
    builtin = api.templates.GetTemplate(template_pb2.GetTemplateRequest(version=0))
    assert builtin.is_default and "{{ lines_table }}" in builtin.source
    api.upload()
    assert api.versions() == [(0, "Built-in", True), (1, "Standard", False)]
    made = api.templates.SetDefaultTemplate(template_pb2.SetDefaultTemplateRequest(version=1))
    assert made.is_default and made.version == 1 and made.position > 0 and made.source == TEMPLATE
    api.templates.SetDefaultTemplate(template_pb2.SetDefaultTemplateRequest(version=0))
    assert api.versions()[0] == (0, "Built-in", True)


def test_list_pages_with_opaque_tokens(api):
    for i in range(3):
        api.upload(name=f"T{i}")
    page = api.templates.ListTemplates(template_pb2.ListTemplatesRequest(page_size=3))
    assert [t.version for t in page.templates] == [0, 1, 2] and page.next_page_token
    rest = api.templates.ListTemplates(template_pb2.ListTemplatesRequest(page_size=3,
                                                                         page_token=page.next_page_token))
    assert [t.version for t in rest.templates] == [3] and rest.next_page_token == ""
    bad = error_of(api.templates.ListTemplates, template_pb2.ListTemplatesRequest(page_token="nonsense"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("source, where", [
    ("Hello {{ invoice.numbr }}", "line 1, column 7"),
    ("ok\n\n  {{ ''.__class__ }}", "line 3, column 3"),
    ("# Title\nunclosed {{ invoice.number", "line 2, column 10"),
])
def test_bad_template_is_rejected_naming_line_and_column_and_nothing_is_stored(api, source, where):
    error = error_of(api.upload, source=source)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and where in error.details()
    assert bad_request_fields(error) == ["source"]
    assert api.versions() == [(0, "Built-in", True)]


def test_oversized_template_logo_and_name_are_rejected_and_nothing_is_stored(api):
    assert "line" in error_of(api.upload, source="x" * (256 * 1024 + 1)).details()
    huge_png = png() + b"\0" * (512 * 1024)
    for bad in (huge_png, b"GIF89a not a png", b"\x89PNG\r\n\x1a\nbroken"):
        error = error_of(api.upload, logo=bad)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(error) == ["logo"]
    assert bad_request_fields(error_of(api.upload, name="")) == ["name"]
    assert bad_request_fields(error_of(api.upload, name="n" * 257)) == ["name"]
    assert api.versions() == [(0, "Built-in", True)]


def test_unknown_versions_are_not_found(api):
    for rpc, request in ((api.templates.GetTemplate, template_pb2.GetTemplateRequest(version=7)),
                         (api.templates.SetDefaultTemplate, template_pb2.SetDefaultTemplateRequest(version=7)),
                         (api.templates.PreviewTemplatePdf, template_pb2.PreviewTemplatePdfRequest(version=7))):
        assert error_of(rpc, request).code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent: one pool start
def test_preview_shows_placeholders_literally_and_rejects_bad_source(api):
    pdf = api.templates.PreviewTemplatePdf(template_pb2.PreviewTemplatePdfRequest(source=TEMPLATE))
    assert pdf.content.startswith(b"%PDF") and pdf.sha256 == hashlib.sha256(pdf.content).hexdigest()
    assert "{{ invoice.number }}" in text_of(pdf.content)
    stored = api.templates.PreviewTemplatePdf(template_pb2.PreviewTemplatePdfRequest(version=0))
    assert "{{ seller.name }}" in text_of(stored.content) and stored.template_version == 0
    error = error_of(api.templates.PreviewTemplatePdf, template_pb2.PreviewTemplatePdfRequest(source="{{ x }}"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "line 1, column 1" in error.details()


def test_invoice_pins_its_template_and_renders_byte_identical_unicode_pdfs(api):
    api.set_seller(address_lines=["Łódź, ul. Piotrkowska 1"], tax_id="PL-1", bank_details="IBAN PL00 0000")
    api.upload(make_default=True)
    invoice = api.invoice()
    api.upload(source="Version two {{ invoice.number }}", make_default=True)
    later = api.invoice(start="2026-04-01", end="2026-04-30")
    assert (invoice.template_version, later.template_version) == (1, 2)
    first, second = api.pdf(invoice.invoice_id), api.pdf(invoice.invoice_id)
    assert first.content == second.content and first.sha256 == hashlib.sha256(first.content).hexdigest()
    assert first.template_version == 1 and api.pdf(later.invoice_id).template_version == 2
    text = text_of(first.content)
    for expected in ("Rechnung " + invoice.number, "Zürich", "Москва", "Switchboard AG", "Poland Fixed"):
        assert expected in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent: one pool start
def test_built_in_template_prints_every_part_of_the_invoice(api):
    api.set_seller(address_lines=["Łódź, ul. Piotrkowska 1"], tax_id="PL-1", bank_details="IBAN PL00 0000")
    invoice = api.invoice()
    pdf = api.pdf(invoice.invoice_id)
    assert pdf.template_version == 0
    text = text_of(pdf.content)
    for expected in (invoice.number, "Zürich", "Москва", "Łódź", "PL-1", "IBAN PL00 0000", invoice.total):
        assert expected in text


def test_unknown_or_malformed_invoice_id(api):
    assert error_of(api.pdf, "00000000-0000-0000-0000-000000000000").code() == grpc.StatusCode.NOT_FOUND
    assert bad_request_fields(error_of(api.pdf, "not-a-uuid")) == ["invoice_id"]


def test_seller_update_shows_on_new_invoices_only(api):
    assert api.templates.GetSeller(template_pb2.GetSellerRequest()).name == ""
    api.set_seller(name="Old Seller GmbH")
    old = api.invoice()
    updated = api.set_seller(name="New Seller AG", address_lines=["Zürich"], email="billing@example.com")
    assert updated.position > 0 and list(updated.address_lines) == ["Zürich"]
    assert api.templates.GetSeller(template_pb2.GetSellerRequest()) == updated
    new = api.invoice(start="2026-04-01", end="2026-04-30")
    assert "New Seller AG" in text_of(api.pdf(new.invoice_id).content)
    old_text = text_of(api.pdf(old.invoice_id).content)  # first rendered after the update
    assert "Old Seller GmbH" in old_text and "New Seller AG" not in old_text


def test_seller_validation(api):
    assert bad_request_fields(error_of(api.set_seller, name="")) == ["name"]
    assert bad_request_fields(error_of(api.set_seller, address_lines=["x"] * 11)) == ["address_lines"]
    assert bad_request_fields(error_of(api.set_seller, tax_id="t" * 65)) == ["tax_id"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # backend-independent: one pool start
def test_other_rpcs_complete_while_a_pdf_renders(api, server):
    invoice = api.invoice()
    started, release = threading.Event(), threading.Event()
    book = server.use_cases.rendering
    real_pool = book._render_pool

    class Gated:
        def render(self, job):
            started.set()
            release.wait(30)
            return real_pool().render(job)
    book._render_pool = lambda: Gated()  # the handler thread blocks here until released
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("pdf", api.pdf(invoice.invoice_id)))
    worker.start()
    try:
        assert started.wait(10)
        numbering = api.stubs.numbering.GetNumbering(numbering_pb2.GetNumberingRequest(), timeout=5)
        assert numbering.next_number == 2 and worker.is_alive()
        assert api.versions() == [(0, "Built-in", True)]
    finally:
        release.set()
        worker.join(30)
    assert result["pdf"].content.startswith(b"%PDF")


class Servers:
    """Start and stop real servers on one database (to restart the service)."""

    def __init__(self, database_url: str):
        self.database_url, self.running = database_url, []

    def start(self):
        server = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(self.database_url)))
        server.server.start()
        self.running.append(server)
        return server

    def stop(self, server) -> None:
        self.running.remove(server)
        server.stop(0)


@pytest.fixture
def servers(database_url):
    started = Servers(database_url)
    yield started
    for server in list(started.running):
        started.stop(server)


def test_invoice_pdf_is_byte_identical_after_a_server_restart(servers):
    first = servers.start()
    with grpc.insecure_channel(f"127.0.0.1:{first.port}") as channel:
        api = Api(channel)
        api.stubs.resellers.UpsertReseller(reseller())
        send(api.stubs, [call("c1")])
        api.upload(make_default=True)
        api.set_seller()
        invoice = api.invoice()
        before = api.pdf(invoice.invoice_id)
        api.set_seller(name="Changed Later Ltd")
    servers.stop(first)
    second = servers.start()
    with grpc.insecure_channel(f"127.0.0.1:{second.port}") as channel:
        after = Api(channel).pdf(invoice.invoice_id)
    assert after.content == before.content and after.sha256 == before.sha256 and after.template_version == 1


def test_concurrent_uploads_get_unique_gap_free_versions(api):
    barrier = threading.Barrier(4)

    def upload_three(i):
        barrier.wait(10)
        return [api.upload(name=f"T{i}.{j}").version for j in range(3)]
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(upload_three(i))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(v for r in results for v in r) == list(range(1, 13))
    assert [v for v, _, _ in api.versions()] == list(range(13))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failed_render_is_internal_with_a_clear_message_and_is_not_cached(api, server):
    from service.render import RenderFailed
    invoice = api.invoice()

    class Broken:
        def render(self, job):
            raise RenderFailed("render worker died (exit code -9)")
    book, real_pool = server.use_cases.rendering, server.use_cases.rendering._render_pool
    book._render_pool = lambda: Broken()
    error = error_of(api.pdf, invoice.invoice_id)
    assert error.code() == grpc.StatusCode.INTERNAL and "PDF rendering failed" in error.details()
    book._render_pool = real_pool
    assert api.pdf(invoice.invoice_id).content.startswith(b"%PDF")
