"""Console screens against a real server: resellers, invoices, templates, numbering, seller, audit."""
import re

from billing.v1 import invoice_pb2, numbering_pb2, reseller_pb2, template_pb2
from helpers import call, reseller, send

RESELLER_FORM = {"reseller_id": "r1", "name": "Zürich Telecom", "currency": "EUR", "time_zone": "Europe/Berlin",
                 "tax_rate": "0.19", "address_lines": "Bahnhofstr. 1\n8001 Zürich", "email": "billing@example.com"}


def invoices(api, rid="r1"):
    return api.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(reseller_id=rid)).invoices


def seed_calls(api):
    api.resellers.UpsertReseller(reseller())
    send(api, [call("c1", "2026-03-10T10:00:00Z", amount="1.5"), call("c2", "2026-03-11T10:00:00Z", amount="2.25",
                                                                       group="Germany Fixed")])


def test_create_and_edit_reseller_with_every_field(admin, api):
    page = admin.post("/resellers/new", RESELLER_FORM)
    assert page.status_code == 200 and "Bahnhofstr. 1" in page.text and "billing@example.com" in page.text
    edit = admin.get("/resellers/r1/edit")
    assert 'value="r1"' in edit.text and "readonly" in edit.text
    admin.post("/resellers/r1/edit", {**RESELLER_FORM, "name": "Zürich Telecom AG"})
    assert api.resellers.GetReseller(reseller_request()).name == "Zürich Telecom AG"
    listing = admin.get("/resellers").text
    assert 'href="/resellers/r1/details">Zürich Telecom AG</a>' in listing


def test_api_error_is_shown_beside_the_form_with_typed_values_kept(admin, api):
    page = admin.post("/resellers/new", {**RESELLER_FORM, "currency": "XYZ", "name": "Typed Name"})
    assert page.status_code == 422
    assert "currency" in page.text.lower() and 'class="error"' in page.text
    assert 'value="Typed Name"' in page.text and 'value="XYZ"' in page.text and "8001 Zürich" in page.text
    assert 'class="field has-error"' in page.text  # the field the BadRequest names is marked
    assert not api.resellers.ListResellers(list_request()).resellers


def test_creating_an_existing_reseller_id_is_refused(admin, api):
    api.resellers.UpsertReseller(reseller())
    page = admin.post("/resellers/new", {**RESELLER_FORM, "name": "Other"})
    assert page.status_code == 200 and "already exists" in page.text
    assert api.resellers.GetReseller(reseller_request()).name == "Zürich Telecom"


def test_calculate_shows_the_draft_without_saving_and_save_issues_once(admin, api):
    seed_calls(api)
    tab = admin.get("/resellers/r1/invoices?create=1")
    assert "Period St" in tab.text and "Period End" in tab.text and 'type="date"' in tab.text
    request_id = re.search(r'name="request_id" value="([^"]+)"', tab.text).group(1)
    form = {"start": "2026-03-01", "end": "2026-03-31", "request_id": request_id}
    draft = admin.post("/resellers/r1/invoices/new", {**form, "action": "calculate"})
    assert "4.46" in draft.text and "Germany Fixed" in draft.text and "Not saved" in draft.text  # 3.75 + 0.71 tax
    assert 'value="2026-03-01"' in draft.text and not invoices(api)
    saved = admin.post("/resellers/r1/invoices/new", {**form, "action": "save"})
    assert saved.status_code == 200 and "issued" in saved.text and "View Invoice" in saved.text
    admin.post("/resellers/r1/invoices/new", {**form, "action": "save"})  # a double submit
    assert len(invoices(api)) == 1
    number = invoices(api)[0].number
    assert re.search(rf">{re.escape(number)}</a>.*?4\.46.*?EUR", saved.text, re.S)


def test_overlapping_period_names_the_invoice_and_keeps_the_dates(admin, api):
    seed_calls(api)
    admin.post("/resellers/r1/invoices/new", {"start": "2026-03-01", "end": "2026-03-31", "action": "save"})
    number = invoices(api)[0].number
    page = admin.post("/resellers/r1/invoices/new", {"start": "2026-03-15", "end": "2026-04-15", "action": "save",
                                                    "request_id": "other"})
    assert page.status_code == 409 and f"invoice {number}" in page.text
    assert 'value="2026-03-15"' in page.text and 'value="2026-04-15"' in page.text


def test_search_view_download_and_void(admin, api):
    seed_calls(api)
    admin.post("/resellers/r1/invoices/new", {"start": "2026-03-01", "end": "2026-03-31", "action": "save"})
    invoice = invoices(api)[0]
    assert invoice.number in admin.get("/resellers/r1/invoices?q=4.46").text
    assert "No invoice matches" in admin.get("/resellers/r1/invoices?q=nothing-like-this").text
    view = admin.get(f"/invoices/{invoice.invoice_id}")
    for text in ("Germany Mobile", "Subtotal", "3.75", "0.71", "4.46", "History", "Download PDF", "Void", "Issued"):
        assert text in view.text, text
    pdf = admin.get(f"/invoices/{invoice.invoice_id}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    empty = admin.post(f"/invoices/{invoice.invoice_id}/void", {"reason": ""})
    assert empty.status_code == 422 and "reason" in empty.text.lower()
    voided = admin.post(f"/invoices/{invoice.invoice_id}/void", {"reason": "sent to the wrong address"})
    assert "Invoice voided" in voided.text and "sent to the wrong address" in voided.text
    assert invoices(api)[0].status == invoice_pb2.INVOICE_STATUS_VOID


def test_template_upload_view_source_preview_and_make_default(admin, api):
    source = "# Invoice {{ invoice.number }}\n\nHello **{{ bill_to.name }}** <b>not html</b>\n\n{{ lines_table }}\n"
    page = admin.client.post("/settings/customize/upload", data={"csrf": admin.csrf, "name": "Spring"},
                             files={"source": ("spring.txt", source.encode(), "text/plain")})
    assert page.status_code == 200 and "uploaded" in page.text
    listing = api_templates(api)
    assert [(t.version, t.is_default) for t in listing] == [(0, False), (1, True)]
    raw = admin.get("/settings/customize/templates/1/source")
    assert raw.headers["content-type"].startswith("text/plain") and raw.text == source
    assert 'target="_blank"' in admin.get("/settings/customize").text
    preview = admin.get("/settings/customize/templates/1/preview")
    assert preview.content.startswith(b"%PDF") and "inline" in preview.headers["content-disposition"]
    admin.post("/settings/customize/templates/0/default")
    assert [t.is_default for t in api_templates(api)] == [True, False]


def test_bad_template_is_refused_with_line_and_column(admin, api):
    page = admin.client.post("/settings/customize/upload", data={"csrf": admin.csrf, "name": "Broken"},
                             files={"source": ("b.txt", b"ok\n{{ nope }}\n", "text/plain")})
    assert page.status_code == 422 and "line 2" in page.text and 'value="Broken"' in page.text
    assert len(api_templates(api)) == 1


def test_numbering_pattern_and_start(admin, api):
    page = admin.post("/settings/options/numbering", {"pattern": "INV-%num%", "start": "100"})
    assert "Invoice Numbering Pattern" in page.text and "INV-%num%" in page.text
    numbering = api.numbering.GetNumbering(numbering_pb2.GetNumberingRequest())
    assert (numbering.pattern, numbering.next_number) == ("INV-%num%", 100)
    bad = admin.post("/settings/options/numbering", {"pattern": "no-counter", "start": "100"})
    assert bad.status_code == 422 and "%num%" in bad.text and 'value="no-counter"' in bad.text
    back = admin.post("/settings/options/numbering", {"pattern": "INV-%num%", "start": "5"})
    assert back.status_code == 409 and 'value="5"' in back.text


def test_seller_details(admin, api):
    page = admin.post("/seller", {"name": "Switchboard GmbH", "address_lines": "Hauptstr. 5\n10115 Berlin",
                                  "tax_id": "DE123", "email": "ops@example.com", "bank_details": "IBAN DE00"})
    assert page.status_code == 200 and "saved" in page.text
    seller = api_seller(api)
    assert (seller.name, list(seller.address_lines)) == ("Switchboard GmbH", ["Hauptstr. 5", "10115 Berlin"])
    bad = admin.post("/seller", {"name": "", "email": "typed@example.com"})
    assert bad.status_code == 422 and 'value="typed@example.com"' in bad.text


def test_usage_tab_shows_the_groups(admin, api):
    seed_calls(api)
    page = admin.get("/resellers/r1/usage?start=2026-03-01&end=2026-03-31")
    assert "Germany Mobile" in page.text and "1.50" in page.text


def test_audit_shows_the_latest_events_newest_first(admin, api):
    for i in range(60):
        api.resellers.UpsertReseller(reseller(reseller_id=f"r{i:02d}", name=f"Reseller {i}"))
    page = admin.get("/audit").text
    positions = [int(p) for p in re.findall(r'<td class="num">(\d+)</td>\s*<td class="nowrap">', page)]
    assert positions == list(range(60, 10, -1))
    older = admin.get("/audit?before=11").text
    assert [int(p) for p in re.findall(r'<td class="num">(\d+)</td>\s*<td class="nowrap">', older)] == \
        list(range(10, 0, -1))


def reseller_request():
    return reseller_pb2.GetResellerRequest(reseller_id="r1")


def list_request():
    return reseller_pb2.ListResellersRequest()


def api_templates(api):
    return api.templates.ListTemplates(template_pb2.ListTemplatesRequest()).templates


def api_seller(api):
    return api.templates.GetSeller(template_pb2.GetSellerRequest())
