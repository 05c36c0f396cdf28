"""Invoice arithmetic (domain/invoice.py compute_totals, SPEC §5): round each line half-up to the
currency's minor unit, sum the lines, tax the subtotal once."""
import pytest

from domain.invoice import UsageRow, compute_totals

NANO = 10**9


def row(group: str, amount: str, calls: int = 1, seconds: int = 60) -> UsageRow:
    whole, _, frac = amount.partition(".")
    return UsageRow(group, calls, seconds, int(whole), int(frac.ljust(9, "0")))


@pytest.mark.parametrize("currency,amount,line", [
    ("EUR", "0.005", "0.01"), ("EUR", "0.004999999", "0.00"), ("EUR", "2.675", "2.68"),
    ("JPY", "0.5", "1"), ("JPY", "1.499999999", "1"), ("JPY", "2.5", "3"),
    ("KWD", "0.0005", "0.001"), ("KWD", "1.2344999", "1.234"), ("KWD", "7", "7.000"),
])
def test_each_line_rounds_half_up_to_the_minor_unit(currency, amount, line):
    totals = compute_totals([row("g", amount)], currency, "0")
    assert totals.lines[0]["amount"] == line == totals.subtotal == totals.total
    assert totals.tax == format(0, f".{len(line.partition('.')[2])}f")


@pytest.mark.parametrize("currency,rate,subtotal,tax,total", [
    ("EUR", "0.19", "10.05", "1.91", "11.96"),   # 1.9095 → 1.91
    ("EUR", "0.2", "0.10", "0.02", "0.12"),
    ("JPY", "0.1", "105", "11", "116"),           # 10.5 → 11
    ("JPY", "0.08", "1234", "99", "1333"),        # 98.72 → 99
    ("KWD", "0.05", "1.235", "0.062", "1.297"),   # 0.06175 → 0.062
])
def test_tax_is_the_rounded_subtotal_times_the_rate(currency, rate, subtotal, tax, total):
    totals = compute_totals([row("g", subtotal)], currency, rate)
    assert (totals.subtotal, totals.tax_rate, totals.tax, totals.total) == (subtotal, rate, tax, total)


def test_tax_is_taken_on_the_subtotal_not_summed_per_line():
    # Per line: 0.05 × 0.1 = 0.005 → 0.01 each, 0.02 in all; on the subtotal: 0.10 × 0.1 = 0.01.
    totals = compute_totals([row("a", "0.05"), row("b", "0.05")], "EUR", "0.1")
    assert (totals.subtotal, totals.tax, totals.total) == ("0.10", "0.01", "0.11")


def test_subtotal_is_the_sum_of_rounded_lines_not_the_rounded_sum_of_calls():
    # Unrounded: 0.004 + 0.004 + 0.004 = 0.012 → 0.01; per line: 0.00 + 0.00 + 0.00.
    totals = compute_totals([row("a", "0.004"), row("b", "0.004"), row("c", "0.004")], "EUR", "0")
    assert [line["amount"] for line in totals.lines] == ["0.00", "0.00", "0.00"] and totals.subtotal == "0.00"


def test_lines_are_sorted_by_destination_group_and_keep_calls_and_seconds():
    rows = [row("Spain", "1", 3, 180), row("Austria", "2", 1, 7), row("germany", "3", 2, 61), row("Germany", "4")]
    totals = compute_totals(rows, "EUR", "0")
    assert [line["destination_group"] for line in totals.lines] == ["Austria", "Germany", "Spain", "germany"]
    assert totals.lines[0] == {"destination_group": "Austria", "calls": 1, "billed_seconds": 7, "amount": "2.00"}
    assert totals.lines[2] == {"destination_group": "Spain", "calls": 3, "billed_seconds": 180, "amount": "1.00"}


def test_summed_nanos_beyond_one_unit_carry_into_the_units():
    # SQL sums of amount_nanos are not normalised: 3 calls of 0.6 = 0 units + 1.8e9 nanos.
    totals = compute_totals([UsageRow("g", 3, 180, 0, 1_800_000_000)], "EUR", "0")
    assert totals.subtotal == "1.80"
    big = compute_totals([UsageRow("g", 10**6, 0, 999_999_999_999, 5 * 10**14)], "EUR", "0")
    assert big.subtotal == "1000000499999.00"


def test_no_usage_is_a_zero_invoice_in_the_currency():
    assert compute_totals([], "EUR", "0.19") == compute_totals([], "EUR", "0.19")
    for currency, zero in (("EUR", "0.00"), ("JPY", "0"), ("KWD", "0.000")):
        totals = compute_totals([], currency, "0.19")
        assert (totals.lines, totals.subtotal, totals.tax, totals.total) == ([], zero, zero, zero)


def test_the_rate_is_kept_as_given():
    assert compute_totals([row("g", "1")], "EUR", "0.190").tax_rate == "0.190"
