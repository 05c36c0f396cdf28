"""The admin CLI (`billing ...`) end to end: in-process against a real server, plus one real subprocess."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import free_port
from service.cli import main

ROOT = Path(__file__).resolve().parents[2]
HEADER = "call_id,reseller_id,started_at,billed_seconds,destination,destination_group,amount,currency\n"
ROWS = [  # line 2..
    "c1,r1,2026-03-01T10:00:00Z,60,4915112345678,Germany Mobile,0.0125,EUR",
    "c2,r1,2026-03-02T10:00:00+01:00,120,4930123456,Germany Fixed,0.02,EUR",
    "c3,r1,2026-03-03T10:00:00Z,30,4930123456,Germany Fixed,1e5,EUR",  # line 4: bad amount (server)
    "c4,r1,2026-03-03 garbage,30,4930123456,Germany Fixed,0.01,EUR",  # line 5: malformed (local)
    "c5,r1,2026-03-04T10:00:00Z,45,4915112345678,Germany Mobile,0.5,EUR",
]


class Cli:
    def __init__(self, capsys, address):
        self.capsys, self.address = capsys, address

    def __call__(self, *args) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args, "--server", self.address])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args):
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(server, capsys):
    return Cli(capsys, f"127.0.0.1:{server.port}")


@pytest.fixture
def r1(cli):
    code, _, err = cli("resellers", "upsert", "r1", "--name", "Zürich [Telecom]", "--currency", "EUR",
                       "--time-zone", "Europe/Berlin", "--tax-rate", "0.19",
                       "--address-line", "Bahnhofstr. 1", "--address-line", "8001 Zürich", "--tax-id", "CHE-1")
    assert code == 0, err
    return "r1"


def write_csv(tmp_path, rows=ROWS, header=HEADER) -> str:
    path = tmp_path / "calls.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_resellers_upsert_show_list(cli, r1):
    code, out, err = cli("resellers", "show", "r1")
    assert code == 0 and err == ""
    assert "Zürich [Telecom]" in out and "Europe/Berlin" in out and "8001 Zürich" in out
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal
    code, out, _ = cli("resellers", "list")
    assert code == 0 and "r1" in out and "Zürich [Telecom]" in out and "0.19" in out
    listed = cli.json("resellers", "list", "--all")
    assert [r["reseller_id"] for r in listed["resellers"]] == ["r1"] and listed["next_page_token"] == ""
    shown = cli.json("resellers", "show", "r1")
    assert shown["address_lines"] == ["Bahnhofstr. 1", "8001 Zürich"] and shown["tax_id"] == "CHE-1"


def test_upsert_keeps_omitted_fields_and_pages(cli, r1):
    updated = cli.json("resellers", "upsert", "r1", "--email", "billing@example.com")
    assert updated["name"] == "Zürich [Telecom]" and updated["currency"] == "EUR"
    assert updated["tax_rate"] == "0.19" and updated["address_lines"] == ["Bahnhofstr. 1", "8001 Zürich"]
    assert updated["email"] == "billing@example.com" and updated["tax_id"] == "CHE-1"
    assert cli.json("resellers", "upsert", "r1", "--clear-address")["address_lines"] == []
    code, _, err = cli("resellers", "upsert", "r2", "--name", "Two")
    assert code == 2 and "--currency" in err and "--tax-rate" in err
    cli.json("resellers", "upsert", "r2", "--name", "Two", "--currency", "JPY", "--time-zone", "UTC",
             "--tax-rate", "0")
    page = cli.json("resellers", "list", "--page-size", "1")
    assert len(page["resellers"]) == 1 and page["next_page_token"]
    assert [r["reseller_id"] for r in cli.json("resellers", "list", "--page-size", "1", "--all")["resellers"]] \
        == ["r1", "r2"]


def test_usage_import_reports_rejections_by_line(cli, r1, tmp_path):
    path = write_csv(tmp_path)
    code, out, err = cli("usage", "import", path, "--batch-size", "2")
    assert code == 3, err
    assert "accepted: 3" in out and "duplicates: 0" in out and "rejected: 2" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()[:1].isdigit()}
    assert "c3" in lines["4"] and "amount" in lines["4"]
    assert "c4" in lines["5"] and "started_at" in lines["5"]


def test_usage_reimport_json_and_stdin(cli, r1, tmp_path, monkeypatch):
    path = write_csv(tmp_path)
    assert cli("usage", "import", path)[0] == 3
    code, out, _ = cli("usage", "import", path, "--json")
    assert code == 3
    report = json.loads(out)
    assert (report["accepted"], report["duplicates"], report["rejected_count"]) == (0, 3, 2)
    assert [(r["line"], r["call_id"]) for r in report["rejected"]] == [(4, "c3"), (5, "c4")]
    assert report["rejected"][0]["index"] == 2 and report["rejected"][1]["index"] is None

    good = HEADER + "c9,r1,2026-03-05T08:00:00Z,10,49301,Germany Fixed,0.001,EUR\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(good.encode())))
    code, out, _ = cli("usage", "import", "-", "--json")
    assert code == 0 and json.loads(out)["accepted"] == 1


def test_usage_import_bad_header_is_a_usage_error(capsys, tmp_path):
    path = write_csv(tmp_path, header="call_id,reseller,started_at,billed_seconds,destination,"
                                      "destination_group,amount,currency\n")
    code = main(["usage", "import", path, "--server", f"127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown column(s): reseller" in err and "missing column(s): reseller_id" in err


def test_usage_summary(cli, r1, tmp_path):
    cli("usage", "import", write_csv(tmp_path))
    code, out, _ = cli("usage", "summary", "r1", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 0 and "Germany Mobile" in out and "0.51" in out
    summary = cli.json("usage", "summary", "r1", "--from", "2026-03-01", "--to", "2026-03-31")
    groups = {g["destination_group"]: g for g in summary["groups"]}
    assert groups["Germany Mobile"]["unbilled"]["amount"] == "0.51"
    assert groups["Germany Fixed"]["unbilled"]["calls"] == "1"


def test_invoices_lifecycle(cli, r1, tmp_path):
    cli("usage", "import", write_csv(tmp_path))
    period = ["--from", "2026-03-01", "--to", "2026-03-31"]
    draft = cli.json("invoices", "calculate", "r1", *period)
    assert (draft["subtotal"], draft["tax"], draft["total"]) == ("0.53", "0.10", "0.63")
    code, out, _ = cli("invoices", "calculate", "r1", *period)
    assert code == 0 and "Germany Fixed" in out and "0.63 EUR" in out

    cli.json("numbering", "set", "--pattern", "%num%/%year%", "--start", "100001")
    invoice = cli.json("invoices", "create", "r1", *period, "--request-id", "req-1")
    assert invoice["status"] == "INVOICE_STATUS_ISSUED" and invoice["total"] == "0.63"
    number, invoice_id = invoice["number"], invoice["invoice_id"]
    assert number.startswith("100001/")
    assert cli.json("invoices", "create", "r1", *period, "--request-id", "req-1")["invoice_id"] == invoice_id
    code, _, err = cli("invoices", "create", "r1", *period)
    assert code == 5 and err.startswith("error: FAILED_PRECONDITION: ")

    code, out, _ = cli("invoices", "show", "--number", number)
    assert code == 0 and invoice_id in out and "Germany Mobile" in out and "0.63 EUR" in out
    code, out, _ = cli("invoices", "list")
    assert code == 0 and number in out and "2026-03-01 .. 2026-03-31" in out and "issued" in out
    listed = cli.json("invoices", "list", "--reseller", "r1", "--all")
    assert [i["invoice_id"] for i in listed["invoices"]] == [invoice_id]

    voided = cli.json("invoices", "void", invoice_id, "--reason", "wrong period")
    assert voided["status"] == "INVOICE_STATUS_VOID" and voided["void_reason"] == "wrong period"
    assert cli.json("invoices", "show", invoice_id, "--version", "1")["status"] == "INVOICE_STATUS_ISSUED"
    history = cli.json("invoices", "history", invoice_id)
    assert [e["version"] for e in history["events"]] == [1, 2]
    code, out, _ = cli("invoices", "history", invoice_id)
    assert code == 0 and "wrong period" in out


def test_error_exit_codes(cli, r1):
    code, out, err = cli("invoices", "show", "11111111-1111-1111-1111-111111111111")
    assert code == 4 and out == "" and err.startswith("error: NOT_FOUND: ")
    assert cli("resellers", "show", "nobody")[0] == 4
    code, _, err = cli("resellers", "upsert", "r1", "--currency", "XXX")
    assert code == 2 and "error: INVALID_ARGUMENT: currency: " in err
    code, _, err = cli("invoices", "calculate", "r1", "--from", "2026-03-31", "--to", "2026-03-01")
    assert code == 2 and "error: INVALID_ARGUMENT: period.end_date: " in err
    code, _, err = cli("invoices", "list", "--from", "2026-13-01")  # argparse: unknown option
    assert code == 2 and "Traceback" not in err
    code, _, err = cli("usage", "summary", "r1", "--from", "2026-02-30", "--to", "2026-03-01")
    assert code == 2 and "YYYY-MM-DD" in err


def test_numbering_show_and_set(cli):
    shown = cli.json("numbering", "show")
    assert shown["pattern"] == "%num%" and shown["next_number"] == "1"
    code, out, _ = cli("numbering", "set", "--pattern", "INV-%year%-%num%", "--start", "500")
    assert code == 0 and "INV-%year%-%num%" in out and "500" in out
    assert cli.json("numbering", "show")["next_number"] == "500"
    code, _, err = cli("numbering", "set", "--start", "10")
    assert code == 5 and "FAILED_PRECONDITION" in err
    code, _, err = cli("numbering", "set", "--pattern", "no-counter")
    assert code == 2 and "error: INVALID_ARGUMENT: pattern: " in err
    assert cli("numbering", "set")[0] == 2


def test_unreachable_server_is_exit_7(capsys):
    address = f"127.0.0.1:{free_port()}"
    code = main(["resellers", "list", "--server", address, "--timeout", "5"])
    err = capsys.readouterr().err
    assert code == 7 and f"cannot reach the billing server at {address}" in err and "Traceback" not in err


def test_console_script_in_a_subprocess(server, r1):
    env = {**os.environ, "BILLING_TOKEN": ""}
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "billing"), "resellers", "list",
                           "--server", f"127.0.0.1:{server.port}"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "r1" in done.stdout and "Zürich [Telecom]" in done.stdout and "\x1b[" not in done.stdout


def test_token_is_sent_and_auth_errors_are_exit_6(capsys, monkeypatch):
    """A stand-in NumberingService that checks the bearer token (the real server's auth is tested elsewhere)."""
    from concurrent import futures

    import grpc
    from billing.v1 import numbering_pb2, numbering_pb2_grpc

    class Checking(numbering_pb2_grpc.NumberingServiceServicer):
        def GetNumbering(self, request, context):
            token = dict(context.invocation_metadata()).get("authorization")
            if token is None:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing token")
            if token != "Bearer s3cret":
                context.abort(grpc.StatusCode.PERMISSION_DENIED, "wrong role")
            return numbering_pb2.Numbering(pattern="%num%", next_number=7)

    stand_in = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    numbering_pb2_grpc.add_NumberingServiceServicer_to_server(Checking(), stand_in)
    port = stand_in.add_insecure_port("127.0.0.1:0")
    stand_in.start()
    try:
        monkeypatch.delenv("BILLING_TOKEN", raising=False)
        monkeypatch.setenv("BILLING_SERVER", f"127.0.0.1:{port}")
        assert main(["numbering", "show"]) == 6
        assert "error: UNAUTHENTICATED: missing token" in capsys.readouterr().err
        assert main(["numbering", "show", "--token", "wrong"]) == 6
        assert "PERMISSION_DENIED" in capsys.readouterr().err
        monkeypatch.setenv("BILLING_TOKEN", "s3cret")
        assert main(["--json", "numbering", "show"]) == 0  # options also work before the command
        assert json.loads(capsys.readouterr().out)["next_number"] == "7"
    finally:
        stand_in.stop(0)
