"""Console screens of Part II against a real server: payments, credit notes, e-invoice downloads,
the statement tab, numbering series, the Part II reseller and seller fields, and the read-only auditor."""
import io
import re

from pypdf import PdfReader

from billing.v1 import invoice_pb2, numbering_pb2, payment_pb2, reseller_pb2
from conftest import write_controls
from helpers import call, create, reseller, send

SELLER_FORM = {"name": "Switchboard Networks GmbH", "address_lines": "Hauptstrasse 5", "postal_code": "10115",
               "city": "Berlin", "country_code": "DE", "tax_id": "DE123456788", "email": "billing@switchboard.example",
               "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}
RESELLER_FORM = {"reseller_id": "r1", "name": "Zürich Telecom", "address_lines": "Bahnhofstrasse 1",
                 "postal_code": "8001", "city": "Zürich", "country_code": "CH", "tax_id": "CHE-123.456.788", "currency": "EUR",
                 "time_zone": "Europe/Berlin", "tax_rate": "0.19", "vat_category": "VAT_CATEGORY_STANDARD",
                 "payment_terms_days": "14", "invoice_series_id": "invoices", "credit_note_series_id": "credit-notes"}


def seed(api, complete=False):
    """Reseller r1 with two groups of calls in March 2026; with `complete`, every e-invoice detail is set first."""
    api.resellers.UpsertReseller(reseller(**({"country_code": "DE", "postal_code": "10115", "city": "Berlin"}
                                             if complete else {})))
    send(api, [call("c1", "2026-03-10T10:00:00Z", amount="10"), call("c2", "2026-03-11T10:00:00Z", amount="5",
                                                                      group="Germany Fixed")])


def issue(admin, start="2026-03-01", end="2026-03-31"):
    page = admin.post("/resellers/r1/invoices/new", {"start": start, "end": end, "action": "save"})
    assert page.status_code == 200 and "issued" in page.text, page.text[-2000:]
    return re.search(r'href="/invoices/([^"]+)"', page.text).group(1)


def get_invoice(api, invoice_id):
    return api.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=invoice_id))


def payments(api, invoice_id):
    return api.payments.ListPayments(payment_pb2.ListPaymentsRequest(invoice_id=invoice_id)).payments


def test_record_payment_changes_the_payment_status(admin, api):
    seed(api)
    iid = issue(admin)  # 15.00 + 2.85 tax = 17.85
    page = admin.get(f"/invoices/{iid}")
    assert "Record payment" in page.text and "Unpaid" in page.text
    assert 'name="received_on" type="date" required value="20' in page.text  # today by default
    paid = admin.post(f"/invoices/{iid}/payment", {"amount": "7.85", "received_on": "2026-04-02",
                                                   "reference": "SEPA 4711", "request_id": "pay-1"})
    assert paid.status_code == 200 and "Payment of 7.85 EUR recorded" in paid.text
    assert "Partially paid" in paid.text and "SEPA 4711" in paid.text and "2026-04-02" in paid.text
    assert get_invoice(api, iid).payment_status == invoice_pb2.PAYMENT_STATUS_PARTIALLY_PAID
    again = admin.post(f"/invoices/{iid}/payment", {"amount": "7.85", "received_on": "2026-04-02",
                                                    "reference": "SEPA 4711", "request_id": "pay-1"})
    assert again.status_code == 200 and len(payments(api, iid)) == 1  # a double submit records once
    admin.post(f"/invoices/{iid}/payment", {"amount": "10.00", "received_on": "2026-04-03", "reference": "rest"})
    invoice = get_invoice(api, iid)
    assert (invoice.payment_status, invoice.outstanding) == (invoice_pb2.PAYMENT_STATUS_SETTLED, "0.00")
    settled = admin.get(f"/invoices/{iid}").text
    assert "Settled" in settled and "Record payment" not in settled  # nothing owed: no payment form
    listing = admin.get("/resellers/r1/invoices").text
    assert re.search(r">Settled<", listing) and "Payment" in listing


def test_a_refused_payment_is_explained_beside_the_form_with_the_typed_values(admin, api):
    seed(api)
    iid = issue(admin)
    page = admin.post(f"/invoices/{iid}/payment", {"amount": "500.00", "received_on": "2026-04-02",
                                                   "reference": "typed ref"})
    assert page.status_code == 409
    form = page.text[page.text.index('id="action-payment"'):]
    assert re.search(r'<details class="action[^"]*" id="action-payment" open>', page.text)
    assert "17.85" in form[:form.index("</form>")] and 'class="error"' in form[:form.index("</form>")]
    assert 'value="500.00"' in form and 'value="typed ref"' in form and 'value="2026-04-02"' in form
    bad = admin.post(f"/invoices/{iid}/payment", {"amount": "1.00", "received_on": "2.4.2026", "reference": "x"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text and 'value="2.4.2026"' in bad.text
    assert not payments(api, iid)


def test_full_credit_note_credits_the_invoice(admin, api):
    seed(api)
    iid = issue(admin)
    lines = {"line_group": ["Germany Fixed", "Germany Mobile"], "line_amount": ["", ""]}
    no_reason = admin.post(f"/invoices/{iid}/credit-note", {"reason": "", **lines})
    assert no_reason.status_code == 422 and "reason" in no_reason.text.lower()
    page = admin.post(f"/invoices/{iid}/credit-note", {"reason": "calls re-rated", **lines})
    assert page.status_code == 200 and re.search(r"Credit note CN-1 issued: 17\.85 EUR", page.text)
    assert get_invoice(api, iid).status == invoice_pb2.INVOICE_STATUS_CREDITED
    assert ">Credited<" in page.text and "calls re-rated" in page.text and "CN-1" in page.text
    assert "Issue credit note" not in page.text and "Void invoice" not in page.text  # nothing left to act on
    pdf = admin.get(re.search(r'href="(/credit-notes/[^"]+/pdf)"', page.text).group(1))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "CN-1" in pdf.headers["content-disposition"]
    assert ">Credited<" in admin.get("/resellers/r1/invoices").text


def test_partial_credit_note_and_its_errors_keep_the_typed_amounts(admin, api):
    seed(api)
    iid = issue(admin)
    too_much = admin.post(f"/invoices/{iid}/credit-note", {"reason": "goodwill", "line_group": ["Germany Fixed",
                          "Germany Mobile"], "line_amount": ["6.00", ""]})
    assert too_much.status_code == 409 and "5.00" in too_much.text and 'value="6.00"' in too_much.text
    assert 'value="goodwill"' in too_much.text
    malformed = admin.post(f"/invoices/{iid}/credit-note", {"reason": "goodwill", "line_group": ["Germany Fixed",
                           "Germany Mobile"], "line_amount": ["", "1.234"]})
    assert malformed.status_code == 422 and 'value="1.234"' in malformed.text
    assert '<tr class="has-error"><td>Germany Mobile' in malformed.text  # the server's lines[0] is that row
    done = admin.post(f"/invoices/{iid}/credit-note", {"reason": "goodwill", "line_group": ["Germany Fixed",
                      "Germany Mobile"], "line_amount": ["2.00", ""]})
    assert "Credit note CN-1 issued: 2.38 EUR" in done.text  # 2.00 + 19 % tax
    invoice = get_invoice(api, iid)
    assert (invoice.status, invoice.credited_total, invoice.outstanding) == \
        (invoice_pb2.INVOICE_STATUS_ISSUED, "2.38", "15.47")


def test_refund_after_a_credit_note_of_a_paid_invoice(admin, api):
    seed(api)
    iid = issue(admin)
    admin.post(f"/invoices/{iid}/payment", {"amount": "17.85", "received_on": "2026-04-02", "reference": "paid"})
    page = admin.post(f"/invoices/{iid}/credit-note", {"reason": "cancelled", "line_group": "Germany Fixed",
                                                       "line_amount": "5.00"})
    assert "Record refund" in page.text and 'value="5.95"' in page.text  # overpaid by 5.00 + 0.95 tax
    refunded = admin.post(f"/invoices/{iid}/refund", {"amount": "5.95", "refunded_on": "2026-04-20",
                                                      "reference": "refund"})
    assert "Refund of 5.95 EUR recorded" in refunded.text and "-5.95" in refunded.text
    assert get_invoice(api, iid).outstanding == "0.00"


def complete_details(admin):
    """Seller and reseller details an EN 16931 e-invoice needs, entered on the console's own forms."""
    assert "saved" in admin.post("/seller", SELLER_FORM).text
    edited = admin.post("/resellers/r1/edit", RESELLER_FORM)
    assert edited.status_code == 200 and "saved" in edited.text, edited.text[-1500:]


def test_facturx_pdf_and_xml_downloads_once_the_details_are_complete(admin, api):
    seed(api)
    complete_details(admin)
    iid = issue(admin)
    page = admin.get(f"/invoices/{iid}").text
    for label in ("Download PDF", "Factur-X PDF", "UBL XML", "CII XML"):
        assert f">{label}</a>" in page, label
    pdf = admin.get(f"/invoices/{iid}/pdf?format=facturx")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", pdf.text[-1500:]
    assert "facturx" in pdf.headers["content-disposition"]
    attachments = PdfReader(io.BytesIO(pdf.content)).attachments
    assert "factur-x.xml" in attachments
    xml = attachments["factur-x.xml"][0].decode("utf-8")
    assert "urn:cen.eu:en16931:2017" in xml and "DE123456788" in xml and "Zürich Telecom" in xml
    ubl = admin.get(f"/invoices/{iid}/xml?syntax=ubl")
    assert ubl.status_code == 200 and ubl.headers["content-type"].startswith("application/xml")
    assert b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in ubl.content
    assert "-ubl.xml" in ubl.headers["content-disposition"]
    cii = admin.get(f"/invoices/{iid}/xml?syntax=cii")
    assert cii.status_code == 200 and cii.content.decode("utf-8") == xml
    note = admin.post(f"/invoices/{iid}/credit-note", {"reason": "re-rated", "line_group": "Germany Fixed",
                                                       "line_amount": "1.00"})
    cid = re.search(r'href="/credit-notes/([^"/]+)/pdf"', note.text).group(1)
    note_pdf = admin.get(f"/credit-notes/{cid}/pdf?format=facturx")
    assert b"381" in PdfReader(io.BytesIO(note_pdf.content)).attachments["factur-x.xml"][0]  # credit note type code
    assert b"CreditNote-2" in admin.get(f"/credit-notes/{cid}/xml?syntax=ubl").content


def test_missing_e_invoice_details_are_listed_in_plain_words(admin, api):
    seed(api)
    iid = issue(admin)  # issued before the seller's details and the reseller's country were known
    page = admin.get(f"/invoices/{iid}/pdf?format=facturx")
    assert page.status_code == 409 and page.headers["content-type"].startswith("text/html")
    alert = page.text[page.text.index('id="page-error"'):]
    alert = alert[:alert.index("</div>")]
    assert "Factur-X PDF of this invoice cannot be produced" in alert
    for label in ("Seller › Country code", "Seller › Tax ID", "Bill to › Country code"):
        assert label in alert, label
    assert 'href="/seller"' in alert and 'href="/resellers/r1/edit"' in alert
    ubl = admin.get(f"/invoices/{iid}/xml?syntax=ubl")
    assert ubl.status_code == 409 and "UBL XML of this invoice cannot be produced" in ubl.text


def test_statement_tab_shows_balance_lines_and_aging(admin, api):
    seed(api)
    iid = issue(admin)
    admin.post(f"/invoices/{iid}/payment", {"amount": "7.85", "received_on": "2026-04-02", "reference": "part"})
    tab = admin.get("/resellers/r1/statement")
    assert tab.status_code == 200 and ">Statement<" in tab.text
    balance = re.search(r'id="statement-balance"><span class="amount">([^<]+)</span>', tab.text).group(1)
    assert balance == "10.00" and "Aging" in tab.text and "Current" in tab.text
    invoice = get_invoice(api, iid)
    assert invoice.number in tab.text and "17.85" in tab.text and "7.85" in tab.text
    earlier = admin.get("/resellers/r1/statement?as_of=2026-04-01").text  # the issue date is today: nothing yet
    assert "Nothing outstanding" in earlier and 'value="2026-04-01"' in earlier
    bad = admin.get("/resellers/r1/statement?as_of=yesterday")
    assert "YYYY-MM-DD" in bad.text


def test_series_table_form_and_a_reseller_numbered_by_its_series(admin, api):
    seed(api)
    options = admin.get("/settings/options").text
    assert "invoices" in options and "credit-notes" in options and "CN-%num%" in options
    saved = admin.post("/settings/options/series", {"series_id": "eu-2026", "kind": "DOCUMENT_KIND_INVOICE",
                                                    "pattern": "EU-%year%-%num%", "start": "100"})
    assert saved.status_code == 200 and "Series eu-2026 saved" in saved.text
    bad = admin.post("/settings/options/series", {"series_id": "Bad Id", "kind": "DOCUMENT_KIND_INVOICE",
                                                  "pattern": "X-%num%", "start": ""})
    assert bad.status_code == 422 and 'value="Bad Id"' in bad.text and 'value="X-%num%"' in bad.text
    back = admin.post("/settings/options/series", {"series_id": "eu-2026", "kind": "DOCUMENT_KIND_INVOICE",
                                                   "pattern": "", "start": "5"})
    assert back.status_code == 409 and 'value="5"' in back.text
    edit = admin.get("/settings/options?series=eu-2026").text
    assert 'value="EU-%year%-%num%"' in edit and 'value="100"' in edit
    form = admin.get("/resellers/r1/edit").text
    assert '<option value="eu-2026">eu-2026 (EU-%year%-%num%)</option>' in form  # invoice series only
    assert 'value="eu-2026"' not in form[form.index('id="f-credit_note_series_id"'):]
    admin.post("/resellers/r1/edit", {**RESELLER_FORM, "invoice_series_id": "eu-2026"})
    iid = issue(admin)
    invoice = get_invoice(api, iid)
    assert invoice.series_id == "eu-2026" and re.fullmatch(r"EU-\d{4}-100", invoice.number)
    series = api.numbering.GetSeries(numbering_pb2.GetSeriesRequest(series_id="eu-2026"))
    assert series.next_number == 101


def test_reseller_details_show_and_edit_the_part_two_fields(admin, api):
    seed(api)
    edit = admin.get("/resellers/r1/edit").text
    for label in ("Country code", "Postal code", "City", "VAT category", "Payment terms (days)", "Invoice series",
                  "Credit note series"):
        assert label in edit, label
    assert 'id="f-payment_terms_days" name="payment_terms_days" value="30"' in edit  # the resolved default
    page = admin.post("/resellers/r1/edit", {**RESELLER_FORM, "tax_rate": "0", "vat_category":
                                             "VAT_CATEGORY_REVERSE_CHARGE", "payment_terms_days": "0"})
    assert page.status_code == 200
    details = page.text[page.text.index('<dl class="details">'):]
    for text in ("CH", "8001", "Zürich", "Reverse charge", ">0<", "invoices", "credit-notes"):
        assert text in details, text
    stored = api.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="r1"))
    assert (stored.vat_category, stored.payment_terms_days, stored.city) == \
        (reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE, 0, "Zürich")
    bad = admin.post("/resellers/r1/edit", {**RESELLER_FORM, "country_code": "XX", "city": "Typed City"})
    assert bad.status_code == 422 and 'value="XX"' in bad.text and 'value="Typed City"' in bad.text
    assert 'class="field has-error"' in bad.text


def test_seller_part_two_fields(admin, api):
    page = admin.post("/seller", SELLER_FORM)
    assert page.status_code == 200 and "saved" in page.text
    for value in ("DE89370400440532013000", "COBADEFFXXX", "10115", "Berlin", 'value="DE"'):
        assert value in page.text, value
    bad = admin.post("/seller", {**SELLER_FORM, "iban": "DE00 1234", "city": "Typed"})
    assert bad.status_code == 422 and 'value="DE00 1234"' in bad.text and 'value="Typed"' in bad.text
    assert 'class="field has-error"' in bad.text


def test_invoice_list_pages_by_fifty_and_filters_by_payment_status(admin, api):
    seed(api)
    for day in range(1, 52):  # 51 one-day invoices of zero, then March's with the calls: 52
        create(api, *[f"2026-01-{day:02d}" if day <= 31 else f"2026-02-{day - 31:02d}"] * 2)
    create(api, "2026-03-01", "2026-03-31")
    first = admin.get("/resellers/r1/invoices").text
    assert len(re.findall(r">View Invoice</a>", first)) == 50 and "Older invoices" in first
    next_page = re.search(r'href="(\?[^"]*page=[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    older = admin.get("/resellers/r1/invoices" + next_page).text
    assert len(re.findall(r">View Invoice</a>", older)) == 2 and "Newest invoices" in older
    iid = re.search(r'href="/invoices/([^"]+)"', first).group(1)
    admin.post(f"/invoices/{iid}/payment", {"amount": "0.01", "received_on": "2026-04-02", "reference": "x"})
    partly = admin.get("/resellers/r1/invoices?payment=partially_paid").text
    assert len(re.findall(r">View Invoice</a>", partly)) == 1 and '<option value="partially_paid" selected>' in partly
    assert "No invoice with this payment status" in admin.get("/resellers/r1/invoices?payment=overdue").text
    assert "No invoice with this payment status" in admin.get("/resellers/r1/invoices?payment=unpaid").text
    settled = admin.get("/resellers/r1/invoices?payment=settled").text  # the zero invoices owe nothing
    assert len(re.findall(r">View Invoice</a>", settled)) == 50 and "payment=settled&amp;page=" in settled


def test_auditor_sees_no_receivables_controls_and_write_posts_are_refused(auditor, admin, api):
    seed(api)
    iid = issue(admin)
    for path in (f"/invoices/{iid}", "/resellers/r1/statement", "/resellers/r1/invoices", "/settings/options",
                 "/resellers/r1/details", "/seller"):
        page = auditor.get(path)
        assert page.status_code == 200 and write_controls(page.text) == [], path
    view = auditor.get(f"/invoices/{iid}").text
    assert "Payments" in view and "Credit notes" in view and "Download PDF" in view  # reads stay
    for path, form in ((f"/invoices/{iid}/payment", {"amount": "1.00", "received_on": "2026-04-02"}),
                       (f"/invoices/{iid}/credit-note", {"reason": "x"}),
                       (f"/invoices/{iid}/refund", {"amount": "1.00", "refunded_on": "2026-04-02"}),
                       (f"/invoices/{iid}/void", {"reason": "x"}),
                       ("/settings/options/series", {"series_id": "evil", "kind": "DOCUMENT_KIND_INVOICE",
                                                     "pattern": "E-%num%"})):
        response = auditor.post(path, form)
        assert response.status_code == 403 and "read-only" in response.text, path
    invoice = get_invoice(api, iid)
    assert (invoice.status, invoice.paid_total, invoice.credited_total) == \
        (invoice_pb2.INVOICE_STATUS_ISSUED, "0.00", "0.00")
    assert [s.series_id for s in api.numbering.ListSeries(numbering_pb2.ListSeriesRequest()).series] == \
        ["credit-notes", "invoices"]


def test_lists_wait_for_the_users_own_writes_and_forget_a_position_the_store_never_reaches(admin, api):
    seed(api)
    iid = issue(admin)
    admin.post(f"/invoices/{iid}/payment", {"amount": "1.00", "received_on": "2026-04-02", "reference": "x"})
    listing = admin.get("/resellers/r1/invoices?payment=partially_paid").text  # at once: the list waited
    assert len(re.findall(r">View Invoice</a>", listing)) == 1
    console = admin.client.app.state.console
    session = console.codec.loads(admin.client.cookies["billing_console"])
    assert session.position > 0
    session.position = 10 ** 12  # e.g. a cookie from before the store was replaced (shared console secret)
    domain = next(c.domain for c in admin.client.cookies.jar if c.name == "billing_console")
    admin.client.cookies.set("billing_console", console.codec.dumps(session), domain=domain)
    page = admin.get("/resellers/r1/invoices")
    assert page.status_code == 200 and len(re.findall(r">View Invoice</a>", page.text)) == 1
    assert console.codec.loads(admin.client.cookies["billing_console"]).position == 0
