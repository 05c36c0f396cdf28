"""The receivables CLI end to end against a real server: credit notes, numbering series, payments, statements,
the invoice list's payment filters and the e-invoice exports (`billing credit-notes|payments|statement|numbering
series`, `billing invoices xml|pdf --facturx`)."""
import hashlib
import io
import json
import os
import stat
from datetime import date, timedelta

import pypdf
import pytest

from service.cli import main

HEADER = "call_id,reseller_id,started_at,billed_seconds,destination,destination_group,amount,currency\n"
MARCH = ["--from", "2026-03-01", "--to", "2026-03-31"]
APRIL = ["--from", "2026-04-01", "--to", "2026-04-30"]
UNKNOWN_ID = "11111111-1111-1111-1111-111111111111"
SELLER_VAT, BUYER_VAT, IBAN = "DE123456788", "FR40303265045", "DE89370400440532013000"  # valid check digits


class Cli:
    def __init__(self, capsysbinary, address):
        self.capsys, self.address = capsysbinary, address

    def raw(self, *args) -> tuple[int, bytes, str]:
        self.capsys.readouterr()
        code = main([*args, "--server", self.address])
        out, err = self.capsys.readouterr()
        return code, out, err.decode()

    def __call__(self, *args) -> tuple[int, str, str]:
        code, out, err = self.raw(*args)
        return code, out.decode(), err

    def json(self, *args):
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(server, capsysbinary):
    return Cli(capsysbinary, f"127.0.0.1:{server.port}")


def import_calls(cli, tmp_path, *rows: str) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = cli("usage", "import", str(path))
    assert code == 0, out + err


def call(call_id: str, day: str, group: str, amount: str, reseller: str = "r1") -> str:
    return f"{call_id},{reseller},{day}T10:00:00Z,60,4930123456,{group},{amount},EUR"


@pytest.fixture
def r1(cli, tmp_path):
    """A reseller with March calls: Germany Fixed 25.00 + Germany Mobile 10.00, tax 19 % → total 41.65."""
    cli.json("resellers", "upsert", "r1", "--name", "Zürich Telecom", "--currency", "EUR",
             "--time-zone", "Europe/Berlin", "--tax-rate", "0.19")
    import_calls(cli, tmp_path, call("c1", "2026-03-01", "Germany Mobile", "10.00"),
                 call("c2", "2026-03-02", "Germany Fixed", "20.00"), call("c3", "2026-03-03", "Germany Fixed", "5.00"))
    return "r1"


def the_date(d: dict) -> date:
    return date(d["year"], d["month"], d["day"])


def column_end(line: str, text: str) -> int:
    return line.index(text) + len(text)


# ---------------------------------------------------------------- credit notes

def test_correction_story_partial_then_full_credit_then_rebill(cli, r1, tmp_path):
    invoice = cli.json("invoices", "create", "r1", *MARCH)
    invoice_id = invoice["invoice_id"]
    assert invoice["total"] == "41.65"

    partial = cli.json("credit-notes", "issue", invoice_id, "--line", "Germany Fixed=5.00", "--reason", "re-rated",
                       "--request-id", "cn-1")
    assert (partial["number"], partial["series_id"], partial["invoice_number"]) == ("CN-1", "credit-notes",
                                                                                   invoice["number"])
    assert [(line["destination_group"], line["amount"]) for line in partial["lines"]] == [("Germany Fixed", "5.00")]
    assert (partial["subtotal"], partial["tax"], partial["total"]) == ("5.00", "0.95", "5.95")
    again = cli.json("credit-notes", "issue", invoice_id, "--line", "Germany Fixed=5.00", "--reason", "re-rated",
                     "--request-id", "cn-1")
    assert again["credit_note_id"] == partial["credit_note_id"]  # idempotent

    shown = cli.json("invoices", "show", invoice_id)
    assert (shown["status"], shown["credited_total"], shown["outstanding"]) == ("INVOICE_STATUS_ISSUED", "5.95",
                                                                                 "35.70")
    code, out, _ = cli("invoices", "show", invoice_id)
    assert code == 0 and "Credited:" in out and "5.95 EUR" in out and "35.70 EUR" in out and "Series:" in out

    # bad input: nothing written, clear exit codes
    code, out, err = cli("credit-notes", "issue", invoice_id, "--line", "Germany Fixed=20.01", "--reason", "x")
    assert code == 5 and out == "" and err.startswith("error: FAILED_PRECONDITION: ")
    code, _, err = cli("credit-notes", "issue", invoice_id, "--line", "Germany Fixed=1.001", "--reason", "x")
    assert code == 2 and "error: INVALID_ARGUMENT: " in err
    code, _, err = cli("credit-notes", "issue", invoice_id, "--line", "Mars=1.00", "--reason", "x")
    assert code == 2 and "INVALID_ARGUMENT" in err
    code, _, err = cli("credit-notes", "issue", invoice_id, "--line", "Germany Fixed", "--reason", "x")
    assert code == 2 and "GROUP=AMOUNT" in err and "Traceback" not in err
    assert cli("credit-notes", "issue", invoice_id, "--line", "Germany Fixed=1.00")[0] == 2  # --reason required
    code, _, err = cli("credit-notes", "issue", UNKNOWN_ID, "--reason", "x")
    assert code == 4 and err.startswith("error: NOT_FOUND: ")
    assert cli.json("credit-notes", "list", "--invoice", invoice_id)["credit_notes"][0]["number"] == "CN-1"

    # a call arrives late for the invoiced period: the invoice is credited in full and the period invoiced again
    import_calls(cli, tmp_path, call("c4", "2026-03-20", "Germany Mobile", "2.00"))
    code, out, err = cli("credit-notes", "issue", invoice_id, "--reason", "late calls: credit and rebill")
    assert code == 0, err
    assert "CN-2" in out and "credited" in out and "41.65 EUR of 41.65 EUR" in out and "0.00 EUR" in out
    full = cli.json("credit-notes", "show", "--number", "CN-2")
    assert full["total"] == "35.70" and full["reason"] == "late calls: credit and rebill"
    assert {line["destination_group"]: line["amount"] for line in full["lines"]} == {
        "Germany Fixed": "20.00", "Germany Mobile": "10.00"}
    credited = cli.json("invoices", "show", invoice_id)
    assert (credited["status"], credited["credited_total"]) == ("INVOICE_STATUS_CREDITED", "41.65")
    code, _, err = cli("credit-notes", "issue", invoice_id, "--reason", "once more")
    assert code == 5 and "FAILED_PRECONDITION" in err

    found = cli.json("invoices", "search", "--status", "credited", "--min-position", str(full["position"]))
    assert [i["invoice_id"] for i in found["invoices"]] == [invoice_id]
    code, out, _ = cli("invoices", "list", "--min-position", str(full["position"]))
    assert code == 0 and "credited" in out
    listed = cli.json("credit-notes", "list", "--reseller", "r1", "--min-position", str(full["position"]))
    assert [n["number"] for n in listed["credit_notes"]] == ["CN-2", "CN-1"]  # newest first
    code, out, _ = cli("credit-notes", "list", "--invoice", invoice_id)
    assert code == 0 and "CN-1" in out and "CN-2" in out and "re-rated" in out
    code, out, _ = cli("credit-notes", "show", partial["credit_note_id"])
    assert code == 0 and "Germany Fixed" in out and "5.95 EUR" in out and invoice["number"] in out

    rebill = cli.json("invoices", "create", "r1", *MARCH)
    assert rebill["invoice_id"] != invoice_id and rebill["subtotal"] == "37.00"  # the late call is billed now

    target = tmp_path / "cn.pdf"
    code, out, err = cli("credit-notes", "pdf", full["credit_note_id"], "-o", str(target))
    content = target.read_bytes()
    assert code == 0 and out == "" and content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() in err
    assert "Credit note" in "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert cli("credit-notes", "pdf", UNKNOWN_ID, "-o", str(tmp_path / "x.pdf"))[0] == 4
    assert cli("credit-notes", "show", "--number", "CN-99")[0] == 4


# ---------------------------------------------------------------- numbering series, reseller and seller fields

def test_series_set_list_show_and_a_reseller_numbered_from_its_own_series(cli, r1, tmp_path):
    series = cli.json("numbering", "series", "list")
    assert [(s["series_id"], s["kind"]) for s in series["series"]] == [
        ("credit-notes", "DOCUMENT_KIND_CREDIT_NOTE"), ("invoices", "DOCUMENT_KIND_INVOICE")]
    created = cli.json("numbering", "series", "set", "acme-inv", "--kind", "invoice", "--pattern", "A-%num%",
                       "--start", "100")
    assert (created["pattern"], created["next_number"]) == ("A-%num%", "100")
    code, out, _ = cli("numbering", "series", "set", "acme-cn", "--kind", "credit-note", "--pattern", "A-CN-%num%",
                       "--start", "7")
    assert code == 0 and "A-CN-%num%" in out and "credit-note" in out
    code, out, _ = cli("numbering", "series", "show", "acme-inv")
    assert code == 0 and "A-%num%" in out and "100" in out and "invoice" in out
    code, out, _ = cli("numbering", "series", "list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[2:]] == [
        "acme-cn", "acme-inv", "credit-notes", "invoices"]
    page = cli.json("numbering", "series", "list", "--page-size", "1")
    assert len(page["series"]) == 1 and page["next_page_token"]

    assert cli("numbering", "series", "set", "acme-inv", "--kind", "credit-note")[0] == 5  # kind change
    assert cli("numbering", "series", "set", "acme-inv", "--kind", "invoice", "--start", "5")[0] == 5  # backwards
    code, _, err = cli("numbering", "series", "set", "Bad_Id", "--kind", "invoice", "--pattern", "%num%")
    assert code == 2 and "series_id" in err
    assert cli("numbering", "series", "set", "x", "--kind", "receipt", "--pattern", "%num%")[0] == 2
    assert cli("numbering", "series", "show", "nope")[0] == 4

    code, _, err = cli("resellers", "upsert", "r1", "--invoice-series", "acme-cn")
    assert code == 2 and "invoice_series_id" in err  # a series of the wrong kind
    assert cli("resellers", "upsert", "r1", "--invoice-series", "nope")[0] == 4
    r = cli.json("resellers", "upsert", "r1", "--invoice-series", "acme-inv", "--credit-note-series", "acme-cn")
    assert (r["invoice_series_id"], r["credit_note_series_id"]) == ("acme-inv", "acme-cn")
    r = cli.json("resellers", "upsert", "r1", "--email", "ap@example.com")  # left out: kept
    assert (r["invoice_series_id"], r["credit_note_series_id"]) == ("acme-inv", "acme-cn")

    invoice = cli.json("invoices", "create", "r1", *MARCH)
    assert (invoice["number"], invoice["series_id"]) == ("A-100", "acme-inv")
    note = cli.json("credit-notes", "issue", invoice["invoice_id"], "--reason", "wrong rates")
    assert (note["number"], note["series_id"]) == ("A-CN-7", "acme-cn")
    assert cli.json("numbering", "series", "show", "acme-inv")["next_number"] == "101"
    assert cli.json("numbering", "show")["next_number"] == "1"  # the built-in counter did not move

    cli.json("resellers", "upsert", "r2", "--name", "Two", "--currency", "EUR", "--time-zone", "UTC",
             "--tax-rate", "0.19")
    import_calls(cli, tmp_path, call("r2c1", "2026-03-05", "France Fixed", "3.00", reseller="r2"))
    assert cli.json("invoices", "create", "r2", *MARCH)["number"] == "1"  # the built-in series


def test_reseller_and_seller_part_ii_fields(cli):
    created = cli.json("resellers", "upsert", "rc", "--name", "Reverse SARL", "--currency", "EUR",
                       "--time-zone", "Europe/Paris", "--tax-rate", "0", "--country", "FR", "--postal-code", "75001",
                       "--city", "Paris", "--vat-category", "reverse-charge", "--payment-terms-days", "14",
                       "--tax-id", BUYER_VAT)
    assert (created["country_code"], created["postal_code"], created["city"]) == ("FR", "75001", "Paris")
    assert (created["vat_category"], created["payment_terms_days"]) == ("VAT_CATEGORY_REVERSE_CHARGE", 14)
    code, out, _ = cli("resellers", "show", "rc")
    assert code == 0
    for text in ("75001", "Paris", "FR", "reverse-charge", "14 days", "invoices", "credit-notes"):
        assert text in out
    kept = cli.json("resellers", "upsert", "rc", "--name", "Reverse SA")
    assert (kept["vat_category"], kept["payment_terms_days"], kept["city"]) == (
        "VAT_CATEGORY_REVERSE_CHARGE", 14, "Paris")
    assert cli.json("resellers", "upsert", "rc", "--payment-terms-days", "0")["payment_terms_days"] == 0
    assert cli.json("resellers", "upsert", "rc", "--city", "")["city"] == ""

    plain = cli.json("resellers", "upsert", "rd", "--name", "Defaults", "--currency", "EUR", "--time-zone", "UTC",
                     "--tax-rate", "0.19")
    assert (plain["vat_category"], plain["payment_terms_days"], plain["invoice_series_id"]) == (
        "VAT_CATEGORY_STANDARD", 30, "invoices")
    assert cli("resellers", "upsert", "rd", "--payment-terms-days", "366")[0] == 2
    assert cli("resellers", "upsert", "rd", "--vat-category", "zero")[0] == 2
    code, _, err = cli("resellers", "upsert", "rd", "--country", "XX")
    assert code == 2 and "country_code" in err
    code, _, err = cli("resellers", "upsert", "rd", "--vat-category", "reverse-charge")  # tax rate 0.19
    assert code == 2 and "INVALID_ARGUMENT" in err
    code, out, _ = cli("resellers", "list")
    assert code == 0 and "30 days" in out and "0 days" in out

    seller = cli.json("seller", "set", "--name", "Switchboard GmbH", "--country", "DE", "--postal-code", "10117",
                      "--city", "Berlin", "--iban", IBAN, "--bic", "COBADEFFXXX", "--tax-id", SELLER_VAT)
    assert (seller["country_code"], seller["iban"], seller["bic"]) == ("DE", IBAN, "COBADEFFXXX")
    code, _, err = cli("seller", "set", "--iban", "DE00370400440532013000")
    assert code == 2 and "iban" in err
    kept = cli.json("seller", "set", "--email", "billing@example.com")
    assert (kept["city"], kept["iban"]) == ("Berlin", IBAN)
    code, out, _ = cli("seller", "show")
    assert code == 0 and IBAN in out and "COBADEFFXXX" in out and "10117" in out and "Berlin" in out


# ---------------------------------------------------------------- payments, statements, list filters

def test_payments_record_list_and_refund(cli, r1):
    invoice = cli.json("invoices", "create", "r1", *MARCH)
    invoice_id = invoice["invoice_id"]
    first = cli.json("payments", "record", invoice_id, "--amount", "20.00", "--received-on", "2026-04-10",
                     "--reference", "SEPA 0001", "--request-id", "pay-1")
    assert (first["amount"], first["currency"], first["reference"]) == ("20.00", "EUR", "SEPA 0001")
    assert the_date(first["received_on"]) == date(2026, 4, 10) and first["reseller_id"] == "r1"
    assert cli.json("payments", "record", invoice_id, "--amount", "20.00", "--received-on", "2026-04-10",
                    "--reference", "SEPA 0001", "--request-id", "pay-1")["payment_id"] == first["payment_id"]
    code, _, err = cli("payments", "record", invoice_id, "--amount", "20.00", "--received-on", "2026-04-10",
                       "--request-id", "pay-1")  # the same key for another payment
    assert code == 5 and "ALREADY_EXISTS" in err
    shown = cli.json("invoices", "show", invoice_id)
    assert (shown["paid_total"], shown["outstanding"], shown["payment_status"]) == (
        "20.00", "21.65", "PAYMENT_STATUS_PARTIALLY_PAID")

    code, _, err = cli("payments", "record", invoice_id, "--amount", "21.66", "--received-on", "2026-04-11")
    assert code == 5 and "FAILED_PRECONDITION" in err  # more than is owed
    code, _, err = cli("payments", "record", invoice_id, "--amount", "1e5", "--received-on", "2026-04-11")
    assert code == 2 and "error: INVALID_ARGUMENT: amount: " in err
    assert cli("payments", "record", invoice_id, "--amount", "-1.00", "--received-on", "2026-04-11")[0] == 2
    code, _, err = cli("payments", "record", invoice_id, "--amount", "1.00", "--received-on", "2026-02-30")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = cli("payments", "record", UNKNOWN_ID, "--amount", "1.00", "--received-on", "2026-04-11")
    assert code == 4 and err.startswith("error: NOT_FOUND: ")
    assert cli("payments", "refund", invoice_id, "--amount", "1.00", "--refunded-on", "2026-04-11")[0] == 5

    code, out, err = cli("payments", "record", invoice_id, "--amount", "21.65", "--received-on", "2026-04-20")
    assert code == 0 and "21.65 EUR" in out and "2026-04-20" in out, err
    assert cli.json("invoices", "show", invoice_id)["payment_status"] == "PAYMENT_STATUS_SETTLED"

    # overpaid after a credit note: the difference is paid back
    note = cli.json("credit-notes", "issue", invoice_id, "--line", "Germany Mobile=5.00", "--reason", "discount")
    assert cli.json("invoices", "show", invoice_id)["outstanding"] == "-5.95"
    assert cli("payments", "refund", invoice_id, "--amount", "5.96", "--refunded-on", "2026-05-02")[0] == 5
    refund = cli.json("payments", "refund", invoice_id, "--amount", "5.95", "--refunded-on", "2026-05-02",
                      "--reference", "back")
    assert refund["amount"] == "-5.95" and the_date(refund["received_on"]) == date(2026, 5, 2)
    assert note["total"] == "5.95" and cli.json("invoices", "show", invoice_id)["outstanding"] == "0.00"

    by_invoice = cli.json("payments", "list", "--invoice", invoice_id, "--min-position", str(refund["position"]))
    assert [p["amount"] for p in by_invoice["payments"]] == ["-5.95", "21.65", "20.00"]  # newest first
    by_reseller = cli.json("payments", "list", "--reseller", "r1", "--all")
    assert [p["payment_id"] for p in by_reseller["payments"]] == [p["payment_id"] for p in by_invoice["payments"]]
    page = cli.json("payments", "list", "--reseller", "r1", "--page-size", "2")
    assert len(page["payments"]) == 2 and page["next_page_token"]
    code, out, _ = cli("payments", "list", "--invoice", invoice_id)
    lines = out.splitlines()
    assert code == 0 and "refund" in lines[2] and "-5.95" in lines[2] and "SEPA 0001" in lines[4]
    assert column_end(lines[0], "Amount") == column_end(lines[4], "20.00")  # amounts right-aligned
    assert cli("payments", "list")[0] == 2  # --invoice or --reseller
    assert cli("payments", "list", "--invoice", invoice_id, "--reseller", "r1")[0] == 2
    assert cli("payments", "list", "--reseller", "nobody")[0] == 4


def test_statement_as_of_a_past_day_ignores_later_payments(cli, r1):
    invoice = cli.json("invoices", "create", "r1", *MARCH)
    due = the_date(invoice["due_date"])
    issued = due - timedelta(days=30)  # the default payment terms
    day = issued.isoformat()
    cli.json("payments", "record", invoice["invoice_id"], "--amount", "10.00", "--received-on", day)
    later = (due + timedelta(days=40)).isoformat()
    cli.json("payments", "record", invoice["invoice_id"], "--amount", "15.00", "--received-on", later)

    as_of = due + timedelta(days=35)
    statement = cli.json("statement", "r1", "--as-of", as_of.isoformat())
    assert (statement["currency"], the_date(statement["as_of"]), statement["balance"]) == ("EUR", as_of, "31.65")
    [line] = statement["lines"]
    assert (line["number"], line["total"], line["paid"], line["outstanding"], line["days_overdue"]) == (
        invoice["number"], "41.65", "10.00", "31.65", 35)
    assert statement["aging"] == {"current": "0.00", "days_1_30": "0.00", "days_31_60": "31.65",
                                  "days_61_90": "0.00", "days_over_90": "0.00"}

    code, out, err = cli("statement", "r1", "--as-of", as_of.isoformat())
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"Statement of r1 as of {as_of.isoformat()} (EUR)"
    header = next(i for i, text in enumerate(lines) if text.startswith("Number"))
    for column in ("Issued", "Due", "Total", "Credited", "Paid", "Outstanding", "Days overdue"):
        assert column in lines[header]
    row = lines[header + 2]
    assert row.split()[:3] == [invoice["number"], day, due.isoformat()]
    assert column_end(lines[header], "Total") == column_end(row, "41.65 EUR")  # amounts right-aligned
    assert column_end(lines[header], "Outstanding") == column_end(row, "31.65 EUR")
    assert row.rstrip().endswith("35")
    assert any(text.startswith("Balance:") and "31.65 EUR" in text for text in lines)
    aging = {text.split("  ")[0]: text.split()[-2] for text in lines if "overdue" in text and "EUR" in text}
    assert aging["31–60 days overdue"] == "31.65" and aging["1–30 days overdue"] == "0.00"

    after = cli.json("statement", "r1", "--as-of", (due + timedelta(days=41)).isoformat())
    assert (after["balance"], after["lines"][0]["paid"]) == ("16.65", "25.00")
    before = cli.json("statement", "r1", "--as-of", (issued - timedelta(days=1)).isoformat())
    assert before["lines"] == [] and before["balance"] == "0.00"
    code, out, _ = cli("statement", "r1", "--as-of", (issued - timedelta(days=1)).isoformat())
    assert code == 0 and "no open invoices" in out and "0.00 EUR" in out
    assert cli("statement", "nobody")[0] == 4
    assert cli("statement", "r1", "--as-of", "2026-13-01")[0] == 2


def test_invoices_list_and_search_by_payment_status_and_overdue(cli, r1, tmp_path):
    import_calls(cli, tmp_path, call("c5", "2026-04-02", "Germany Fixed", "10.00"))
    march = cli.json("invoices", "create", "r1", *MARCH)
    april = cli.json("invoices", "create", "r1", *APRIL)
    paid = cli.json("payments", "record", march["invoice_id"], "--amount", "1.00", "--received-on", "2026-04-01")
    due = the_date(march["due_date"])
    position = str(paid["position"])

    def numbers(*args) -> list[str]:
        return [i["number"] for i in cli.json("invoices", *args, "--min-position", position)["invoices"]]

    assert numbers("list", "--payment-status", "unpaid") == [april["number"]]
    assert numbers("list", "--payment-status", "partially-paid") == [march["number"]]
    assert numbers("list", "--payment-status", "settled") == []
    assert numbers("list", "--payment-status", "none") == []
    assert numbers("list", "--overdue-on", due.isoformat()) == []  # due that day: not yet overdue
    assert numbers("list", "--overdue-on", (due + timedelta(days=1)).isoformat()) == [april["number"],
                                                                                      march["number"]]
    assert numbers("list", "--overdue-on", (due + timedelta(days=1)).isoformat(),
                   "--payment-status", "unpaid", "--reseller", "r1") == [april["number"]]
    assert numbers("search", "zurich", "--payment-status", "partially-paid") == [march["number"]]
    assert numbers("search", "--overdue-on", (due + timedelta(days=1)).isoformat(), "--status", "issued") == [
        april["number"], march["number"]]

    code, out, _ = cli("invoices", "list", "--payment-status", "partially-paid", "--min-position", position)
    lines = out.splitlines()
    assert code == 0 and "Outstanding" in lines[0] and "Due" in lines[0] and "Payment" in lines[0]
    assert "40.65" in lines[2] and "partially-paid" in lines[2] and due.isoformat() in lines[2]
    code, out, _ = cli("invoices", "list", "--payment-status", "settled", "--min-position", position)
    assert code == 0 and out.strip() == "no invoices"
    assert cli("invoices", "list", "--payment-status", "paid")[0] == 2
    assert cli("invoices", "list", "--overdue-on", "2026-02-30")[0] == 2


# ---------------------------------------------------------------- e-invoices

def test_invoice_xml_and_facturx_pdf(cli, r1, tmp_path):
    cli.json("resellers", "upsert", "r1", "--country", "FR", "--postal-code", "75001", "--city", "Paris",
             "--tax-id", BUYER_VAT)
    early = cli.json("invoices", "create", "r1", *MARCH)  # issued before the seller's details were stored
    code, out, err = cli("invoices", "pdf", early["invoice_id"], "--facturx", "-o", str(tmp_path / "early.pdf"))
    assert code == 5 and out == "" and err.startswith("error: FAILED_PRECONDITION: ")
    assert "seller.country_code" in err and "seller.tax_id" in err and not (tmp_path / "early.pdf").exists()
    code, _, err = cli("invoices", "xml", early["invoice_id"], "--syntax", "cii", "-o", str(tmp_path / "e.xml"))
    assert code == 5 and "seller.country_code" in err and not (tmp_path / "e.xml").exists()

    cli.json("seller", "set", "--name", "Switchboard GmbH", "--address-line", "Unter den Linden 1",
             "--postal-code", "10117", "--city", "Berlin", "--country", "DE", "--tax-id", SELLER_VAT,
             "--iban", IBAN, "--bic", "COBADEFFXXX")
    import_calls(cli, tmp_path, call("c5", "2026-04-02", "Germany Fixed", "10.00"))
    invoice = cli.json("invoices", "create", "r1", *APRIL)
    invoice_id, number = invoice["invoice_id"], invoice["number"]

    target = tmp_path / "invoice-ubl.xml"
    code, out, err = cli("invoices", "xml", invoice_id, "--syntax", "ubl", "-o", str(target))
    ubl = target.read_bytes()
    assert code == 0 and out == "", err
    assert hashlib.sha256(ubl).hexdigest() in err and f"{number}-ubl.xml" in err and str(target) in err
    assert ubl.startswith(b"<?xml") and b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in ubl
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # a normal file, not the temporary's 0600
    assert IBAN.encode() in ubl and SELLER_VAT.encode() in ubl and BUYER_VAT.encode() in ubl
    code, out, err = cli.raw("invoices", "xml", invoice_id, "--syntax", "ubl", "-o", "-")
    assert code == 0 and out == ubl  # raw bytes on stdout, byte-identical
    exported = cli.json("invoices", "xml", invoice_id, "--syntax", "cii", "-o", str(tmp_path))  # a directory
    cii = (tmp_path / f"{number}-cii.xml").read_bytes()
    assert exported["filename"] == f"{number}-cii.xml" and exported["sha256"] == hashlib.sha256(cii).hexdigest()
    assert b"urn:cen.eu:en16931:2017" in cii
    assert cli("invoices", "xml", invoice_id, "-o", str(tmp_path / "y.xml"))[0] == 2  # --syntax is required
    assert cli("invoices", "xml", invoice_id, "--syntax", "pdf", "-o", str(tmp_path / "y.xml"))[0] == 2
    assert cli("invoices", "xml", UNKNOWN_ID, "--syntax", "ubl", "-o", str(tmp_path / "y.xml"))[0] == 4

    facturx = tmp_path / "facturx.pdf"
    code, out, err = cli("invoices", "pdf", invoice_id, "--facturx", "-o", str(facturx))
    content = facturx.read_bytes()
    assert code == 0 and out == "" and content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() in err
    attachments = pypdf.PdfReader(io.BytesIO(content)).attachments
    assert attachments["factur-x.xml"] == [cii]  # the same XML as `invoices xml --syntax cii`
    code, plain, _ = cli.raw("invoices", "pdf", invoice_id, "-o", "-")
    assert code == 0 and plain.startswith(b"%PDF") and plain != content
    assert "factur-x.xml" not in pypdf.PdfReader(io.BytesIO(plain)).attachments

    note = cli.json("credit-notes", "issue", invoice_id, "--line", "Germany Fixed=2.00", "--reason", "goodwill")
    note_xml = cli.json("credit-notes", "xml", note["credit_note_id"], "--syntax", "ubl", "-o", str(tmp_path))
    body = (tmp_path / note_xml["filename"]).read_bytes()
    assert note_xml["filename"] == f"{note['number']}-ubl.xml" and b"CreditNote-2" in body and number.encode() in body
    code, _, err = cli("credit-notes", "xml", note["credit_note_id"], "--syntax", "cii", "-o",
                       str(tmp_path / "cn-cii.xml"))
    assert code == 0 and b"381" in (tmp_path / "cn-cii.xml").read_bytes()
    code, _, err = cli("credit-notes", "pdf", note["credit_note_id"], "--facturx", "-o", str(tmp_path / "cn.pdf"))
    assert code == 0, err
    cn_pdf = (tmp_path / "cn.pdf").read_bytes()
    assert "factur-x.xml" in pypdf.PdfReader(io.BytesIO(cn_pdf)).attachments
