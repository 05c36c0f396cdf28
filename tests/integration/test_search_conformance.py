"""SearchInvoices conformance: the same queries give the same invoices on SQLite (FTS5 trigram)
and PostgreSQL (pg_trgm) — one suite, run once per backend through the real server."""
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.type import date_pb2

from databases import fresh_postgres_database, need_postgres
from service.config import Settings, parse_database_url
from service.server import create_server

from billing.v1 import invoice_pb2, numbering_pb2, projection_pb2, projection_pb2_grpc
from helpers import Stubs, call, create, reseller, send


def d(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book_channel(request, tmp_path_factory):
    """One server per backend for the whole (read-only) suite."""
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'billing.db'}"
    else:
        need_postgres()
        url, drop = fresh_postgres_database()
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(url)))
    running.server.start()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel
    running.stop(0)
    if drop:
        drop()


@pytest.fixture(scope="module")
def book(book_channel):
    """Six invoices 100001.. over three resellers; one of them void."""
    s = Stubs(book_channel)
    s.numbering.UpdateNumbering(numbering_pb2.UpdateNumberingRequest(pattern="%num%/%year%", start=100001))
    s.resellers.UpsertReseller(reseller("zrh_1", name="Zürich Telecom", tax_rate="0"))
    s.resellers.UpsertReseller(reseller("ber-2", name="Berliner Sprachdienst GmbH", tax_rate="0.19"))
    s.resellers.UpsertReseller(reseller("muc-3", name="Straße & Söhne", tax_rate="0.19"))
    send(s, [call("z1", reseller_id="zrh_1", amount="1234.5", started="2026-03-10T10:00:00Z"),
             call("b1", reseller_id="ber-2", amount="10", started="2026-03-10T10:00:00Z"),
             call("m1", reseller_id="muc-3", amount="7.77", started="2026-04-10T10:00:00Z")])
    made = [create(s, "2026-03-01", "2026-03-31", "zrh_1"),   # 100001 total 1234.50
            create(s, "2026-03-01", "2026-03-31", "ber-2"),   # 100002 total 11.90
            create(s, "2026-04-01", "2026-04-30", "zrh_1"),   # 100003 total 0.00
            create(s, "2026-04-01", "2026-04-30", "muc-3"),   # 100004 total 9.25
            create(s, "2026-05-01", "2026-05-31", "ber-2"),   # 100005
            create(s, "2026-06-01", "2026-06-30", "ber-2")]   # 100006, voided below
    void = s.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=made[-1].invoice_id, reason="typo"))
    return s, made, void.position


def numbers(stubs, query="", position=0, **kw) -> list[str]:
    response = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
        query=query, min_position=position, **kw))
    return [i.number.split("/")[0] for i in response.invoices]


def test_every_word_is_a_folded_substring_of_number_name_id_amount_or_date(book):
    s, made, position = book
    year = made[0].number.split("/")[1]
    assert numbers(s, "", position) == ["100006", "100005", "100004", "100003", "100002", "100001"]
    assert numbers(s, "100002", position) == ["100002"]
    assert numbers(s, f"/{year}", position) == ["100006", "100005", "100004", "100003", "100002", "100001"]
    assert numbers(s, "00004/", position) == ["100004"]
    assert numbers(s, "zurich", position) == ["100003", "100001"]
    assert numbers(s, "ZÜRICH telecom", position) == ["100003", "100001"]
    assert numbers(s, "strasse sohne", position) == ["100004"]  # ß → ss, ö → o
    assert numbers(s, "zrh_1", position) == ["100003", "100001"]
    assert numbers(s, "ber-2", position) == ["100006", "100005", "100002"]
    assert numbers(s, "1234.50", position) == ["100001"]
    assert numbers(s, "11.90", position) == ["100002"]
    assert numbers(s, "2026-04-30", position) == ["100004", "100003"]
    assert numbers(s, "2026-03", position) == ["100002", "100001"]
    assert numbers(s, issue_date(made[0]), position) == ["100006", "100005", "100004", "100003", "100002", "100001"]
    assert numbers(s, "zurich 2026-04", position) == ["100003"]
    assert numbers(s, "zurich berliner", position) == []


def test_short_words_match_as_substrings_too(book):
    s, _, position = book
    assert numbers(s, "zü", position) == ["100003", "100001"]
    assert numbers(s, "9.2", position) == ["100004"]
    assert numbers(s, "_", position) == ["100003", "100001"]  # the underscore in zrh_1 is a plain character
    assert numbers(s, "x", position) == []


def test_one_and_two_character_words_that_occur_nowhere_find_nothing_and_those_that_occur_are_found(book):
    """Such words are first looked up in the table of short sequences (no scan when absent)."""
    s, _, position = book
    assert numbers(s, "zz", position) == [] and numbers(s, "q", position) == []
    assert numbers(s, "hn", position) == ["100004"]  # only in "sohne"
    assert numbers(s, "hn 9", position) == ["100004"] and numbers(s, "hn zz", position) == []
    assert numbers(s, "ü", position) == ["100004", "100003", "100001"]  # folded to u: zürich and muc-3


@pytest.mark.parametrize("query", ['"zurich"', "zur*", "zurich*", "%", "%ich", "NEAR(zurich", "zurich OR",
                                   "'", "\\", "zurich AND berliner", "-zurich", "^zurich", "{zrh_1}:x"])
def test_quotes_and_operators_are_plain_text_never_errors(book, query):
    s, _, position = book
    assert numbers(s, query, position) == []


def test_operator_words_match_literally(book):
    s, _, position = book
    assert numbers(s, "zurich\x00telecom\t", position) == ["100003", "100001"]  # control characters separate words
    assert numbers(s, "zurich or", position) == []  # "or" is a word like any other: no invoice holds it
    assert numbers(s, "ZURICH TEL", position) == ["100003", "100001"]


def test_filters_by_reseller_status_and_issue_date_range(book):
    s, made, position = book
    issued = date.fromisoformat(issue_date(made[0]))
    void, issued_status = invoice_pb2.INVOICE_STATUS_VOID, invoice_pb2.INVOICE_STATUS_ISSUED
    assert numbers(s, "", position, reseller_id="ber-2") == ["100006", "100005", "100002"]
    assert numbers(s, "", position, status=void) == ["100006"]
    assert numbers(s, "ber", position, status=issued_status) == ["100005", "100002"]
    assert numbers(s, "", position, issued_from=d(issued), issued_to=d(issued)) == [
        "100006", "100005", "100004", "100003", "100002", "100001"]
    assert numbers(s, "", position, issued_to=d(issued - timedelta(days=1))) == []
    assert numbers(s, "", position, issued_from=d(issued + timedelta(days=1))) == []


def test_pages_are_stable_and_newest_first(book):
    s, _, position = book
    seen, token = [], ""
    while True:
        response = s.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
            query="2026", page_size=4, page_token=token, min_position=position))
        seen += [i.number for i in response.invoices]
        token = response.next_page_token
        if not token:
            break
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)
    listed = s.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=position))
    assert [i.number for i in listed.invoices] == seen


def test_results_carry_the_whole_invoice(book):
    s, made, position = book
    found = s.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query="100001", min_position=position))
    assert found.invoices[0] == s.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=made[0].invoice_id))
    voided = s.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query="100006", min_position=position))
    assert voided.invoices[0].status == invoice_pb2.INVOICE_STATUS_VOID and voided.invoices[0].void_reason == "typo"
    assert voided.invoices[0] == s.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=made[-1].invoice_id))


def issue_date(invoice) -> str:
    """The issue date in the reseller's zone (what the invoice shows and search indexes)."""
    return invoice.issued_at.ToDatetime(tzinfo=timezone.utc).astimezone(ZoneInfo(invoice.bill_to.time_zone)) \
        .date().isoformat()


PAGED_QUERIES = [("", {}), ("2026", {}), ("zü", {}), ("ber 2026", {}), ("0", {}), ("zurich", {"status": 1}),
                 ("1", {"reseller_id": "ber-2"}), ("qqq", {}), ("x", {})]


def all_pages(stubs, query, position, page_size, **kw) -> list[str]:
    seen, token = [], ""
    while True:
        response = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
            query=query, page_size=page_size, page_token=token, min_position=position, **kw))
        seen += [i.number.split("/")[0] for i in response.invoices]
        token = response.next_page_token
        if not token:
            return seen


def test_every_word_matches_newest_first_page_by_page_and_the_same_after_a_rebuild(book, book_channel):
    """The page's ids come from the search table with its LIMIT, the documents from the invoice list's
    table; a rebuild fills a new generation without indexes and indexes it after: same answers."""
    s, _, position = book
    before = {}
    for query, kw in PAGED_QUERIES:
        one_by_one = all_pages(s, query, position, 1, **kw)
        assert one_by_one == all_pages(s, query, position, 4, **kw) == numbers(s, query, position, **kw)
        assert one_by_one == sorted(one_by_one, reverse=True)
        before[query] = one_by_one
    assert before["ber 2026"] == ["100006", "100005", "100002"] and before["zü"] == ["100003", "100001"]
    assert before["zurich"] == ["100003", "100001"] and before["x"] == [] and before["qqq"] == []
    for _ in projection_pb2_grpc.ProjectionServiceStub(book_channel).RebuildProjections(
            projection_pb2.RebuildProjectionsRequest()):
        pass
    for query, kw in PAGED_QUERIES:
        assert all_pages(s, query, position, 1, **kw) == before[query]
        assert all_pages(s, query, position, 4, **kw) == before[query]
