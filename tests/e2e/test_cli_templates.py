"""`billing templates|seller` and `billing invoices pdf` end to end against a real server."""
import hashlib
import io
import json

import pypdf
import pytest

from service.cli import main

# The CLI is the same on both backends (the e2e RPC tests cover PostgreSQL): one server start each.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SOURCE = "# Rechnung {{ invoice.number }}\r\n**{{ seller.name }}**\n\n{{ lines_table }}\n"


@pytest.fixture
def cli(server, capsysbinary):
    address = f"127.0.0.1:{server.port}"

    def run(*args) -> tuple[int, bytes, str]:
        capsysbinary.readouterr()
        code = main([*args, "--server", address])
        out, err = capsysbinary.readouterr()
        return code, out, err.decode()
    return run


@pytest.fixture
def template_file(tmp_path):
    path = tmp_path / "invoice.tpl"
    path.write_bytes(SOURCE.encode())
    return path


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_upload_show_list_and_default(cli, template_file):
    code, out, err = cli("templates", "upload", str(template_file), "--name", "Hausformat")
    assert code == 0, err
    assert b"Version:  1" in out and b"Default:  no" in out
    code, out, _ = cli("templates", "upload", str(template_file), "--name", "Zweite", "--default", "--json")
    assert json.loads(out)["version"] == 2 and json.loads(out)["is_default"] is True
    code, out, _ = cli("templates", "show", "1")
    assert code == 0 and out == SOURCE.encode()  # exactly, \r\n included
    code, out, _ = cli("templates", "list")
    lines = out.decode().splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["0", "1", "2"] and "yes" in lines[4]
    code, out, _ = cli("templates", "default", "0")
    assert code == 0 and b"Default:  yes" in out


def test_bad_template_unknown_version_and_missing_file_exit_codes(cli, tmp_path):
    bad = tmp_path / "bad.tpl"
    bad.write_text("ok\n{{ invoice.nope }}\n")
    code, out, err = cli("templates", "upload", str(bad), "--name", "Bad")
    assert code == 2 and "source: line 2, column 1" in err and out == b""
    assert cli("templates", "show", "9")[0] == 4
    assert cli("templates", "default", "9")[0] == 4
    code, _, err = cli("templates", "upload", str(tmp_path / "missing.tpl"), "--name", "X")
    assert code == 2 and "cannot read template" in err


def test_seller_set_keeps_what_is_left_out(cli):
    assert cli("seller", "set")[0] == 2
    code, _, err = cli("seller", "set", "--name", "Switchboard AG", "--address-line", "Zürich",
                       "--bank-details", "IBAN CH00\nBIC XYZ")
    assert code == 0, err
    code, out, _ = cli("seller", "set", "--email", "billing@example.com", "--json")
    seller = json.loads(out)
    assert (seller["name"], seller["address_lines"], seller["email"]) == (
        "Switchboard AG", ["Zürich"], "billing@example.com")
    code, out, _ = cli("seller", "show")
    assert code == 0 and "BIC XYZ" in out.decode() and "Zürich" in out.decode()


def test_invoice_pdf_and_preview_to_file_and_stdout(cli, tmp_path, template_file):
    for args in (("resellers", "upsert", "r1", "--name", "Zürich Telecom", "--currency", "EUR",
                  "--time-zone", "Europe/Berlin", "--tax-rate", "0.19"),
                 ("seller", "set", "--name", "Switchboard AG"),
                 ("templates", "upload", str(template_file), "--name", "Hausformat", "--default")):
        assert cli(*args)[0] == 0
    code, out, err = cli("invoices", "create", "r1", "--from", "2026-03-01", "--to", "2026-03-31", "--json")
    invoice = json.loads(out)
    target = tmp_path / "out.pdf"
    code, out, err = cli("invoices", "pdf", invoice["invoice_id"], "-o", str(target))
    content = target.read_bytes()
    assert code == 0 and out == b"" and hashlib.sha256(content).hexdigest() in err
    assert "Rechnung " + invoice["number"] in text_of(content) and "template version 1" in err
    code, out, err = cli("invoices", "pdf", invoice["invoice_id"], "-o", "-")
    assert code == 0 and out == content and hashlib.sha256(content).hexdigest() in err
    code, out, err = cli("templates", "preview", "--version", "1", "-o", "-")
    assert code == 0 and "{{ invoice.number }}" in text_of(out)
    code, out, err = cli("templates", "preview", str(template_file), "-o", str(tmp_path / "p.pdf"))
    assert code == 0 and "{{ seller.name }}" in text_of((tmp_path / "p.pdf").read_bytes())
    code, out, err = cli("invoices", "pdf", "00000000-0000-0000-0000-000000000000", "-o", "-")
    assert code == 4 and out == b""
