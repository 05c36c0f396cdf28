"""The Invoice, InvoiceBook and Numbering aggregates (domain/invoice.py, domain/numbering.py), without storage."""
from datetime import date, datetime, timezone

import pytest

from domain.errors import FailedPrecondition, InvalidArgument
from domain.invoice import Invoice, InvoiceBook, InvoiceStatus, invoice_uuid
from domain.numbering import MAX_NUMBER, Numbering, format_number, validate_pattern
from domain.period import Period

ISSUED_AT = datetime(2026, 4, 1, 9, 30, tzinfo=timezone.utc)


def march(start: int = 1, end: int = 31) -> Period:
    return Period.of(date(2026, 3, start), date(2026, 3, end))


def issue(key: str = "request:r-1", number: str = "7", period: Period | None = None, reseller_id: str = "r1",
          request_id: str = "r-1") -> Invoice:
    return Invoice(invoice_key=key, request_id=request_id, sequence=7, number=number, reseller_id=reseller_id,
                   period=(period or march()).as_dict(), issued_at=ISSUED_AT, issue_date="2026-04-01",
                   bill_to={"reseller_id": reseller_id, "name": "Zürich Telecom"}, currency="EUR",
                   lines=[{"destination_group": "DE Mobile", "calls": 2, "billed_seconds": 120, "amount": "1.00"}],
                   subtotal="1.00", tax_rate="0.19", tax="0.19", total="1.19", template_version=3,
                   covers_through=5)


# ---- Invoice ---------------------------------------------------------------------------------
def test_issued_invoice_holds_what_it_was_issued_with():
    invoice = issue()
    assert invoice.id == invoice_uuid("request:r-1") == Invoice.create_id("request:r-1")
    assert (invoice.number, invoice.sequence, invoice.status, invoice.void_reason) == ("7", 7, "ISSUED", "")
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.currency) == ("1.00", "0.19", "1.19", "EUR")
    assert invoice.period == {"start": "2026-03-01", "end": "2026-03-31"}
    assert (invoice.template_version, invoice.covers_through, invoice.issued_at) == (3, 5, ISSUED_AT)
    assert [type(e).__name__ for e in invoice.collect_events()] == ["Issued"]


def test_invoice_id_depends_only_on_its_key():
    assert invoice_uuid("request:a") == invoice_uuid("request:a") != invoice_uuid("request:b")


def test_voiding_keeps_the_number_and_records_the_reason():
    invoice = issue()
    invoice.void("sent to the wrong customer")
    assert (invoice.status, invoice.number, invoice.void_reason) == (InvoiceStatus.VOID, "7",
                                                                      "sent to the wrong customer")
    assert invoice.total == "1.19"
    assert [type(e).__name__ for e in invoice.collect_events()] == ["Issued", "Voided"]


def test_voiding_twice_is_a_failed_precondition_naming_the_number_and_records_nothing():
    invoice = issue(number="INV-42")
    invoice.void("first")
    invoice.collect_events()
    with pytest.raises(FailedPrecondition, match="INV-42"):
        invoice.void("second")
    assert invoice.void_reason == "first" and invoice.collect_events() == []


def test_same_request_means_same_reseller_and_same_period():
    invoice = issue(period=march(1, 15))
    assert invoice.same_request("r1", march(1, 15))
    assert not invoice.same_request("r2", march(1, 15))
    assert not invoice.same_request("r1", march(1, 16))
    assert not invoice.same_request("r1", march(2, 15))


# ---- InvoiceBook -----------------------------------------------------------------------------
def test_book_id_is_derived_from_the_reseller():
    assert InvoiceBook("r1").id == InvoiceBook.create_id("r1") != InvoiceBook.create_id("r2")


def test_claimed_period_is_recorded_with_its_number():
    book = InvoiceBook("r1")
    book.claim("inv-a", "100", march(1, 15))
    assert book.active == {"inv-a": ["2026-03-01", "2026-03-15", "100"]}
    assert [type(e).__name__ for e in book.collect_events()] == ["Opened", "PeriodClaimed"]


@pytest.mark.parametrize("start,end", [(1, 31), (15, 15), (10, 20), (14, 16), (1, 1), (15, 31)])
def test_an_overlapping_claim_names_the_other_invoice_and_claims_nothing(start, end):
    book = InvoiceBook("r1")
    book.claim("inv-a", "INV-100", march(1, 15))
    book.collect_events()
    with pytest.raises(FailedPrecondition, match=r"INV-100 \(2026-03-01..2026-03-15\)"):
        book.claim("inv-b", "INV-101", march(start, end))
    assert list(book.active) == ["inv-a"] and book.collect_events() == []


def test_adjacent_periods_do_not_overlap():
    book = InvoiceBook("r1")
    book.claim("feb", "1", Period.of(date(2026, 2, 1), date(2026, 2, 28)))
    book.claim("mar-a", "2", march(1, 15))
    book.claim("mar-b", "3", march(16, 31))
    book.claim("apr", "4", Period.of(date(2026, 4, 1), date(2026, 4, 1)))
    assert list(book.active) == ["feb", "mar-a", "mar-b", "apr"]


def test_releasing_an_invoice_frees_its_period_for_a_new_claim():
    book = InvoiceBook("r1")
    book.claim("inv-a", "1", march())
    book.release("inv-a")
    book.claim("inv-b", "2", march(10, 12))
    assert book.active == {"inv-b": ["2026-03-10", "2026-03-12", "2"]}
    assert [type(e).__name__ for e in book.collect_events()][-3:] == ["PeriodClaimed", "PeriodReleased",
                                                                       "PeriodClaimed"]


def test_releasing_one_invoice_keeps_the_others_claimed():
    book = InvoiceBook("r1")
    book.claim("a", "1", march(1, 10))
    book.claim("b", "2", march(11, 20))
    book.release("a")
    with pytest.raises(FailedPrecondition, match="invoice 2 "):
        book.claim("c", "3", march(1, 31))


# ---- Numbering -------------------------------------------------------------------------------
def test_default_numbering_starts_at_one_with_the_bare_number():
    numbering = Numbering()
    assert (numbering.pattern, numbering.next_number) == ("%num%", 1)
    assert numbering.id == Numbering.create_id()


def test_take_is_gap_free_and_records_which_invoice_got_the_number():
    numbering = Numbering()
    taken = [numbering.take(f"inv-{i}", date(2026, 1, 1)) for i in range(5)]
    assert taken == [(n, str(n)) for n in range(1, 6)] and numbering.next_number == 6
    advanced = numbering.collect_events()[1:]
    assert [(e.number, e.invoice_id) for e in advanced] == [(n, f"inv-{n - 1}") for n in range(1, 6)]


def test_moving_the_start_forward_continues_from_there():
    numbering = Numbering()
    numbering.take("a", date(2026, 1, 1))
    numbering.reconfigure(None, 1000)
    assert numbering.take("b", date(2026, 1, 1)) == (1000, "1000")


def test_start_equal_to_the_next_number_is_allowed():
    numbering = Numbering()
    numbering.take("a", date(2026, 1, 1))
    numbering.reconfigure("N-%num%", 2)
    assert (numbering.pattern, numbering.next_number) == ("N-%num%", 2)


def test_start_below_the_next_number_is_refused_and_changes_nothing():
    numbering = Numbering()
    numbering.reconfigure("X%num%", 50)
    numbering.collect_events()
    with pytest.raises(FailedPrecondition, match="start 49 is below the next number 50"):
        numbering.reconfigure("Y%num%", 49)
    assert (numbering.pattern, numbering.next_number) == ("X%num%", 50) and numbering.collect_events() == []


def test_empty_pattern_and_zero_start_keep_the_current_values():
    numbering = Numbering()
    numbering.reconfigure("A-%num%", 10)
    numbering.reconfigure("", 0)
    numbering.reconfigure(None, None)
    assert (numbering.pattern, numbering.next_number) == ("A-%num%", 10)


def test_start_above_the_maximum_is_invalid():
    with pytest.raises(InvalidArgument) as error:
        Numbering().reconfigure(None, MAX_NUMBER + 1)
    assert error.value.field == "start"
    Numbering().reconfigure(None, MAX_NUMBER)


def test_unknown_placeholder_is_named():
    with pytest.raises(InvalidArgument, match="unknown placeholder %day%") as error:
        validate_pattern("%num%-%day%")
    assert error.value.field == "pattern"


@pytest.mark.parametrize("pattern", ["", "INV-", "%num%%num%", "%NUM%", "%num", "num%"])
def test_num_must_appear_exactly_once(pattern):
    with pytest.raises(InvalidArgument, match="exactly once"):
        validate_pattern(pattern)


@pytest.mark.parametrize("pattern", ["%num%\n", "\x00%num%", "x" * 60 + "%num%"])
def test_control_characters_and_overlong_patterns_are_invalid(pattern):
    with pytest.raises(InvalidArgument) as error:
        validate_pattern(pattern)
    assert error.value.field == "pattern"


@pytest.mark.parametrize("pattern", ["%num%", "INV-%year%-%num%", "%year%%mon%%mday%%num%", "100%-%num%",
                                     "ä/%num%/ß", "x" * 59 + "%num%"])
def test_valid_patterns_are_returned_unchanged(pattern):
    assert validate_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern,issue_date,expected", [
    ("%year%/%mon%/%mday%/%num%", date(2026, 1, 5), "2026/01/05/42"),
    ("%mday%.%mon%.%year%-%num%", date(2026, 12, 31), "31.12.2026-42"),
    ("%year%-%num%", date(999, 2, 3), "0999-42"),
    ("%num%%year%", date(2026, 7, 9), "422026"),
    ("R%num%", date(2026, 7, 9), "R42"),
])
def test_placeholders_format_the_issue_date_zero_padded_and_the_number_unpadded(pattern, issue_date, expected):
    assert format_number(pattern, 42, issue_date) == expected


def test_the_pattern_in_force_at_take_time_formats_the_number():
    numbering = Numbering()
    numbering.reconfigure("%year%-%num%", 7)
    assert numbering.take("a", date(2026, 2, 1)) == (7, "2026-7")
    numbering.reconfigure("%num%/%mon%", None)
    assert numbering.take("b", date(2026, 2, 1)) == (8, "8/02")
