"""Number patterns and the counter aggregate (no I/O)."""
from datetime import date

import pytest

from domain.errors import FailedPrecondition, InvalidArgument
from domain.numbering import Numbering, format_number, validate_pattern


def test_spec_example_pattern():
    n = Numbering()
    n.reconfigure("%num%/%year%", 100001)
    assert n.take("a", date(2026, 1, 5)) == (100001, "100001/2026")
    assert n.take("b", date(2026, 1, 5)) == (100002, "100002/2026")


def test_all_placeholders_are_zero_padded_except_num():
    assert format_number("INV-%year%%mon%%mday%-%num%", 7, date(2026, 3, 1)) == "INV-20260301-7"


@pytest.mark.parametrize("pattern", ["INV", "%num%-%num%", "%num%-%yr%", "x" * 65 + "%num%"])
def test_bad_patterns_are_invalid(pattern):
    with pytest.raises(InvalidArgument):
        validate_pattern(pattern)


def test_start_below_next_number_is_a_failed_precondition():
    n = Numbering()
    n.take("a", date(2026, 1, 1))
    with pytest.raises(FailedPrecondition):
        n.reconfigure(None, 1)


def test_every_advance_is_an_event():
    n = Numbering()
    n.take("a", date(2026, 1, 1))
    n.take("b", date(2026, 1, 1))
    assert [type(e).__name__ for e in n.collect_events()] == ["Configured", "Advanced", "Advanced"]
