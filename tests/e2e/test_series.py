"""Numbering series (SPEC §12): built-in invoices and credit-notes, per-issuer series, each gap-free."""
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from billing.v1 import numbering_pb2, reseller_pb2
from helpers import Stubs, bad_request_fields, call, create, credit, reseller, send

INVOICE, CREDIT_NOTE = numbering_pb2.DOCUMENT_KIND_INVOICE, numbering_pb2.DOCUMENT_KIND_CREDIT_NOTE


def upsert(stubs, series_id, kind=INVOICE, pattern="", start=0):
    return stubs.numbering.UpsertSeries(numbering_pb2.UpsertSeriesRequest(series_id=series_id, kind=kind,
                                                                          pattern=pattern, start=start))


def error_of(fn, *args, **kw) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, **kw)
    return err.value


@pytest.fixture
def stubs(channel):
    return Stubs(channel)


def test_the_built_in_series_exist_from_the_start(stubs):
    listed = stubs.numbering.ListSeries(numbering_pb2.ListSeriesRequest()).series
    assert [(s.series_id, s.kind, s.pattern, s.next_number) for s in listed] == [
        ("credit-notes", CREDIT_NOTE, "CN-%num%", 1), ("invoices", INVOICE, "%num%", 1)]


def test_the_invoices_series_is_the_numbering_counter(stubs):
    stubs.numbering.UpdateNumbering(numbering_pb2.UpdateNumberingRequest(pattern="INV-%num%", start=100))
    got = stubs.numbering.GetSeries(numbering_pb2.GetSeriesRequest(series_id="invoices"))
    assert (got.pattern, got.next_number) == ("INV-%num%", 100)
    upsert(stubs, "invoices", pattern="I%num%", start=200)
    numbering = stubs.numbering.GetNumbering(numbering_pb2.GetNumberingRequest())
    assert (numbering.pattern, numbering.next_number) == ("I%num%", 200)


def test_a_reseller_series_numbers_its_documents_on_its_own(stubs):
    upsert(stubs, "acme-inv", pattern="ACME-%year%-%num%", start=500)
    upsert(stubs, "acme-cn", kind=CREDIT_NOTE, pattern="ACME-CN-%num%")
    stubs.resellers.UpsertReseller(reseller("acme", invoice_series_id="acme-inv", credit_note_series_id="acme-cn"))
    stubs.resellers.UpsertReseller(reseller("other"))
    send(stubs, [call("a", reseller_id="acme")])
    a = create(stubs, "2026-03-01", "2026-03-31", reseller_id="acme")
    b = create(stubs, "2026-03-01", "2026-03-31", reseller_id="other")
    assert a.number.startswith("ACME-") and a.number.endswith("-500") and a.series_id == "acme-inv"
    assert (b.number, b.series_id) == ("1", "invoices")
    note = credit(stubs, a.invoice_id)
    assert (note.number, note.series_id) == ("ACME-CN-1", "acme-cn")
    assert stubs.numbering.GetSeries(numbering_pb2.GetSeriesRequest(series_id="acme-inv")).next_number == 501


def test_reads_return_the_resolved_series_and_a_part_one_upsert_keeps_part_two_fields(stubs):
    upsert(stubs, "acme-inv", pattern="A%num%")
    stubs.resellers.UpsertReseller(reseller("acme", invoice_series_id="acme-inv", payment_terms_days=14,
                                            country_code="CH"))
    renamed = stubs.resellers.UpsertReseller(reseller("acme", name="Acme Renamed"))  # a first-release client
    assert (renamed.name, renamed.invoice_series_id, renamed.credit_note_series_id) == (
        "Acme Renamed", "acme-inv", "credit-notes")
    assert (renamed.payment_terms_days, renamed.country_code) == (14, "CH")
    plain = stubs.resellers.UpsertReseller(reseller("plain"))
    assert (plain.invoice_series_id, plain.payment_terms_days, plain.vat_category) == (
        "invoices", 30, reseller_pb2.VAT_CATEGORY_STANDARD)


def test_unknown_or_wrong_kind_series_on_a_reseller_are_refused(stubs):
    upsert(stubs, "cn-only", kind=CREDIT_NOTE, pattern="X%num%")
    assert error_of(stubs.resellers.UpsertReseller, reseller(invoice_series_id="nope")).code() == \
        grpc.StatusCode.NOT_FOUND
    wrong = error_of(stubs.resellers.UpsertReseller, reseller(invoice_series_id="cn-only"))
    assert wrong.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(wrong) == ["invoice_series_id"]
    bad = error_of(stubs.resellers.UpsertReseller, reseller(credit_note_series_id="Bad Id"))
    assert bad_request_fields(bad) == ["credit_note_series_id"]


@pytest.mark.parametrize("series_id,kind,pattern,start,code,field", [
    ("Bad", INVOICE, "%num%", 0, grpc.StatusCode.INVALID_ARGUMENT, "series_id"),
    ("-x", INVOICE, "%num%", 0, grpc.StatusCode.INVALID_ARGUMENT, "series_id"),
    ("x" * 64, INVOICE, "%num%", 0, grpc.StatusCode.INVALID_ARGUMENT, "series_id"),
    ("new", INVOICE, "", 0, grpc.StatusCode.INVALID_ARGUMENT, "pattern"),
    ("new", INVOICE, "%year%", 0, grpc.StatusCode.INVALID_ARGUMENT, "pattern"),
    ("new", 0, "%num%", 0, grpc.StatusCode.INVALID_ARGUMENT, "kind"),
    ("credit-notes", INVOICE, "", 0, grpc.StatusCode.FAILED_PRECONDITION, None),
])
def test_bad_series_requests_write_nothing(stubs, series_id, kind, pattern, start, code, field):
    before = stubs.event_count()
    err = error_of(upsert, stubs, series_id, kind, pattern, start)
    assert err.code() == code
    if field:
        assert bad_request_fields(err) == [field]
    assert stubs.event_count() == before


def test_a_start_only_moves_forward_and_a_kind_never_changes(stubs):
    upsert(stubs, "s1", pattern="S%num%", start=10)
    assert error_of(upsert, stubs, "s1", start=5).code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_of(upsert, stubs, "s1", kind=CREDIT_NOTE).code() == grpc.StatusCode.FAILED_PRECONDITION
    assert upsert(stubs, "s1", start=20).next_number == 20
    assert error_of(stubs.numbering.GetSeries, numbering_pb2.GetSeriesRequest(series_id="nope")).code() == \
        grpc.StatusCode.NOT_FOUND


def test_a_number_another_document_already_has_is_refused_and_nothing_moves(stubs):
    stubs.resellers.UpsertReseller(reseller())
    first = create(stubs, "2026-03-01", "2026-03-31")  # "1" in the invoices series
    upsert(stubs, "dup", pattern="%num%")  # would also number "1"
    stubs.resellers.UpsertReseller(reseller("r2", invoice_series_id="dup"))
    before = stubs.event_count()
    err = error_of(create, stubs, "2026-03-01", "2026-03-31", reseller_id="r2")
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "series dup" in err.details()
    assert stubs.event_count() == before
    assert stubs.numbering.GetSeries(numbering_pb2.GetSeriesRequest(series_id="dup")).next_number == 1
    upsert(stubs, "dup", start=2)
    assert create(stubs, "2026-03-01", "2026-03-31", reseller_id="r2").number == "2" != first.number


def test_series_are_paged_by_id(stubs):
    for i in range(5):
        upsert(stubs, f"s{i}", pattern=f"S{i}-%num%")
    ids, token = [], ""
    while True:
        page = stubs.numbering.ListSeries(numbering_pb2.ListSeriesRequest(page_size=3, page_token=token))
        ids += [s.series_id for s in page.series]
        token = page.next_page_token
        if not token:
            break
    assert ids == ["credit-notes", "invoices", "s0", "s1", "s2", "s3", "s4"]


def test_eight_threads_on_two_series_keep_each_gap_free(stubs):
    upsert(stubs, "b-series", pattern="B%num%")
    for t in range(8):
        stubs.resellers.UpsertReseller(reseller(f"t{t}", invoice_series_id="b-series" if t % 2 else ""))
    barrier = threading.Barrier(8)

    def worker(t):
        barrier.wait()
        return [create(stubs, f"2026-01-{i + 1:02d}", f"2026-01-{i + 1:02d}", reseller_id=f"t{t}").number
                for i in range(15)]
    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(worker, range(8)) for n in batch]
    plain = sorted(int(n) for n in numbers if not n.startswith("B"))
    b = sorted(int(n[1:]) for n in numbers if n.startswith("B"))
    assert plain == list(range(1, 61)) and b == list(range(1, 61))
