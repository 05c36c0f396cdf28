"""Read models, min_position, the audit stream, `billing audit verify` and `billing projections …`
end to end on each backend (real server, real store)."""
import json
import threading

import grpc
import psycopg
import pytest

from billing.v1 import audit_pb2, audit_pb2_grpc, invoice_pb2
from helpers import Stubs, call, create, reseller, send, wait_until
from service.cli import main
from service.config import Settings, parse_database_url
from service.server import create_server
from service.grpc import read_models


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    s.resellers.UpsertReseller(reseller("r2", name="Berlin Voice"))
    send(s, [call("a", amount="10.005"), call("b", amount="5.5", group="Germany Fixed"),
             call("c", reseller_id="r2", amount="1", started="2026-04-02T10:00:00Z")])
    return s


def issue_some(s, months=range(3, 6)) -> list[invoice_pb2.Invoice]:
    made = []
    for m in months:
        made.append(create(s, f"2026-{m:02d}-01", f"2026-{m:02d}-28"))
        made.append(create(s, f"2026-{m:02d}-01", f"2026-{m:02d}-28", reseller_id="r2"))
    # The read models apply them within ~50 ms; tests that touch their tables wait for it.
    s.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=made[-1].position, page_size=1))
    return made


def execute(database_url: str, statement: str, params=()) -> int:
    """Tamper with the store behind the server's back; returns the rows changed."""
    if database_url.startswith("sqlite:///"):
        import sqlite3
        with sqlite3.connect(database_url[len("sqlite:///"):]) as conn:
            return conn.execute(statement, params).rowcount
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(statement.replace("?", "%s"), params).rowcount


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---- read-your-writes -------------------------------------------------------------------

def test_search_with_the_write_position_returns_the_new_invoice_without_sleeping(stubs):
    for month in (3, 4, 5):
        inv = create(stubs, f"2026-{month:02d}-01", f"2026-{month:02d}-28")
        found = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
            query=f"zurich {inv.number}", min_position=inv.position))
        assert found.invoices[0].invoice_id == inv.invoice_id  # newest first
        listed = stubs.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=inv.position))
        assert listed.invoices[0].invoice_id == inv.invoice_id
    voided = stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id, reason="x"))
    found = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
        status=invoice_pb2.INVOICE_STATUS_VOID, min_position=voided.position))
    assert [i.number for i in found.invoices] == [inv.number]


def test_min_position_far_ahead_is_deadline_exceeded_after_the_bound(stubs, monkeypatch):
    monkeypatch.setattr(read_models, "MIN_POSITION_WAIT", 0.3)
    for method, request in ((stubs.invoices.SearchInvoices, invoice_pb2.SearchInvoicesRequest(min_position=10**9)),
                            (stubs.invoices.ListInvoices, invoice_pb2.ListInvoicesRequest(min_position=10**9))):
        with pytest.raises(grpc.RpcError) as e:
            method(request, timeout=60)  # a safety net far beyond the bound: the server's answer comes first
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "position" in e.value.details()


def test_bad_filters_are_invalid_argument(stubs):
    for request in (invoice_pb2.SearchInvoicesRequest(page_token="garbage!"),
                    invoice_pb2.SearchInvoicesRequest(query="x" * 1001)):
        with pytest.raises(grpc.RpcError) as e:
            stubs.invoices.SearchInvoices(request)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# ---- audit stream -----------------------------------------------------------------------

def test_stream_events_sends_every_event_in_order_from_the_position(stubs, channel):
    issue_some(stubs)
    audit = audit_pb2_grpc.AuditServiceStub(channel)
    events = list(audit.StreamEvents(audit_pb2.StreamEventsRequest(), timeout=10))
    positions = [e.position for e in events]
    assert positions[0] == 1 and positions == sorted(set(positions))
    issued = [e for e in events if e.topic.endswith("Invoice.Issued")]
    assert len(issued) == 6
    payload = json.loads(issued[0].payload_json)
    assert payload["number"] == "1" and payload["subtotal"] == "15.51" and payload["issued_at"].startswith("20")
    assert issued[0].originator_version == 1 and issued[0].timestamp.seconds > 0
    tail = list(audit.StreamEvents(audit_pb2.StreamEventsRequest(from_position=positions[3]), timeout=10))
    assert [e.position for e in tail] == positions[3:]
    assert [e.SerializeToString() for e in tail] == [e.SerializeToString() for e in events[3:]]


def test_follow_streams_new_events_live_until_cancelled(stubs, channel):
    audit = audit_pb2_grpc.AuditServiceStub(channel)
    head = list(audit.StreamEvents(audit_pb2.StreamEventsRequest(), timeout=10))[-1].position
    stream = audit.StreamEvents(audit_pb2.StreamEventsRequest(from_position=head + 1, follow=True))
    received, got_invoice = [], threading.Event()

    def read():
        try:
            for event in stream:
                received.append(event)
                if event.topic.endswith("Invoice.Issued"):
                    got_invoice.set()
        except grpc.RpcError as e:
            received.append(e.code())
    reader = threading.Thread(target=read)
    reader.start()
    stubs.resellers.UpsertReseller(reseller("r3", name="Live Carrier"))  # the stream is following: it arrives
    wait_until(lambda: received, 30, "the first event on the following stream")
    inv = create(stubs, "2026-03-01", "2026-03-31")
    assert got_invoice.wait(30)
    assert received[0].position == head + 1
    assert any(e.originator_id == inv.invoice_id for e in received if hasattr(e, "originator_id"))
    stream.cancel()
    reader.join(30)
    assert not reader.is_alive() and received[-1] == grpc.StatusCode.CANCELLED


def test_following_stream_ends_when_the_server_stops(database_url):
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(database_url)))
    running.server.start()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
        Stubs(ch).resellers.UpsertReseller(reseller())
        stream = audit_pb2_grpc.AuditServiceStub(ch).StreamEvents(audit_pb2.StreamEventsRequest(follow=True))
        assert next(stream).position == 1
        stopper = threading.Thread(target=running.stop, args=(30,))
        stopper.start()
        rest = list(stream)  # raises if the stream is cut (CANCELLED/UNAVAILABLE at the end of the 30 s grace)
        assert rest == [] and stream.code() == grpc.StatusCode.OK  # it ended normally as the server began to stop
        stopper.join(60)
        assert not stopper.is_alive()


# ---- audit verify -----------------------------------------------------------------------

def test_audit_verify_is_clean_on_an_untouched_store(server, stubs, database_url, capsys):
    made = issue_some(stubs)
    stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=made[0].invoice_id, reason="redo"))
    send(stubs, [call("late", amount="3")])  # a late call for the void period, then one for a live invoice
    send(stubs, [call("late2", amount="3", started="2026-04-03T10:00:00Z")])
    code, out, err = cli(capsys, "audit", "verify", "--database", database_url)
    assert code == 0, out + err
    assert "6 invoices" in out and "2 resellers" in out and "audit clean" in out
    summary = json.loads(cli(capsys, "audit", "verify", "--database", database_url, "--json")[1])
    assert summary["clean"] and summary["calls"] >= 2 and summary["events"] > 20


TAMPERING = [  # one after the other; each must be named while the earlier ones stay reported
    ("UPDATE billing_calls SET amount_units = amount_units + 1 WHERE call_id = 'b'",
     "invoice '1' (", "from the stored calls is"),
    ("DELETE FROM proj_invoice_list_1 WHERE number = '3'", "projection invoice_list: invoice", "row missing"),
    ("UPDATE proj_invoice_search_1 SET haystack = 'x' WHERE invoice_id = (SELECT invoice_id FROM proj_invoice_list_1 WHERE number = '2')", "projection invoice_search",
     "haystack expected"),
    ("UPDATE billing_documents SET number = '99' WHERE number = '4'", "billing_documents: invoice '4'",
     "number expected '4', found '99'"),
]


def test_audit_verify_names_each_tampered_row(server, stubs, database_url, capsys):
    issue_some(stubs)
    for tamper, *expected in TAMPERING:
        assert execute(database_url, tamper) == 1
        code, out, err = cli(capsys, "audit", "verify", "--database", database_url)
        assert code == 8, out + err
        problem = next((line for line in out.splitlines() if expected[0] in line and expected[1] in line), None)
        assert problem, out
        assert "audit FAILED" in out


def test_audit_verify_reports_a_missing_store(tmp_path, capsys):
    code, _, err = cli(capsys, "audit", "verify", "--database", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 7 and "no store" in err


# ---- projections CLI --------------------------------------------------------------------

def test_rebuild_while_serving_swaps_generations_without_failed_reads(server, stubs, database_url, capsys):
    made = issue_some(stubs)
    before = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query="2026"))
    failures, stop = [], threading.Event()

    def keep_reading():
        while not stop.is_set():
            try:
                got = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query="2026"))
                if [i.invoice_id for i in got.invoices][:6] != [i.invoice_id for i in before.invoices]:
                    failures.append("different result")
            except grpc.RpcError as e:
                failures.append(e.code())
    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        code, out, err = cli(capsys, "projections", "rebuild", "--server", f"127.0.0.1:{server.port}")
    finally:
        stop.set()
        reader.join()
    assert code == 0 and "rebuilt generation 2" in out, err
    assert failures == []
    inv = create(stubs, "2026-08-01", "2026-08-31")  # the runner continues on the new generation
    got = stubs.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=inv.position))
    assert [i.invoice_id for i in got.invoices] == [inv.invoice_id] + [i.invoice_id for i in reversed(made)]
    status = json.loads(cli(capsys, "projections", "status", "--server", f"127.0.0.1:{server.port}", "--json")[1])
    assert {p["name"]: p["generation"] for p in status["projections"]} == {
        "invoice_list": "2", "invoice_search": "2", "credit_note_list": "2"}
    assert {p["lag_events"] for p in status["projections"]} <= {"0"}
    assert cli(capsys, "audit", "verify", "--server", f"127.0.0.1:{server.port}")[0] == 0


def test_verify_store_over_the_api_streams_progress_and_names_a_tampered_row(server, stubs, database_url, capsys):
    issue_some(stubs)
    address = f"127.0.0.1:{server.port}"
    code, out, err = cli(capsys, "audit", "verify", "--server", address)
    assert code == 0 and "audit clean" in out, out + err
    assert execute(database_url, "DELETE FROM proj_invoice_list_1 WHERE number = '3'") == 1
    code, out, _ = cli(capsys, "audit", "verify", "--server", address, "--json")
    verdict = json.loads(out)
    assert code == 8 and not verdict["clean"]
    assert any("invoice_list" in p and "row missing" in p for p in verdict["problems"])


def test_verify_names_short_sequences_missing_from_the_search_lookup_table(server, stubs, database_url, capsys):
    issue_some(stubs)
    address = f"127.0.0.1:{server.port}"
    assert execute(database_url, "DELETE FROM proj_invoice_search_1_shorts WHERE seq IN ('zu', 'u')") == 2
    code, out, _ = cli(capsys, "audit", "verify", "--server", address, "--json")
    verdict = json.loads(out)
    assert code == 8 and any("short sequences" in p and "'u', 'zu'" in p for p in verdict["problems"])


def test_list_events_pages_newest_first_down_to_the_first_event(server, stubs, capsys):
    issue_some(stubs, months=[3])
    audit = audit_pb2_grpc.AuditServiceStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    positions, token = [], ""
    while True:
        page = audit.ListEvents(audit_pb2.ListEventsRequest(page_size=4, page_token=token))
        positions += [e.position for e in page.events]
        token = page.next_page_token
        if not token:
            break
    head = stubs_head(audit)
    assert positions == list(range(head, 0, -1))
    older = audit.ListEvents(audit_pb2.ListEventsRequest(before_position=3))
    assert [e.position for e in older.events] == [2, 1] and older.next_page_token == ""
    code, out, _ = cli(capsys, "audit", "events", "--server", f"127.0.0.1:{server.port}", "--page-size", "3")
    assert code == 0 and out.split("\n")[2].split()[0] == str(head)  # the table's first row: the newest event


def stubs_head(audit) -> int:
    return max(e.position for e in audit.StreamEvents(audit_pb2.StreamEventsRequest(from_position=1)))


def test_cli_search_and_stream(server, stubs, capsys):
    issue_some(stubs, months=[3])
    address = f"127.0.0.1:{server.port}"
    code, out, _ = cli(capsys, "invoices", "search", "zurich", "--server", address, "--json")
    assert code == 0 and [i["reseller_id"] for i in json.loads(out)["invoices"]] == ["r1"]
    code, out, _ = cli(capsys, "invoices", "search", "berlin", "--status", "void", "--server", address)
    assert code == 0 and "no invoices" in out
    code, out, _ = cli(capsys, "audit", "stream", "--from", "2", "--server", address)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and lines[0]["position"] == "2" and all("payload_json" in line for line in lines)
