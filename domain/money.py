"""Money as Decimal: call amounts, ISO 4217 minor units and the one rounding rule."""
import re
from decimal import ROUND_HALF_UP, Decimal
from itertools import repeat
from operator import itemgetter
from typing import Sequence

from domain.currencies import MINOR_UNITS
from domain.errors import InvalidArgument

_AMOUNT = r"[0-9]{1,12}(?:\.[0-9]{1,9})?"
CALL_AMOUNT = re.compile(_AMOUNT)  # used with fullmatch: `$` would let a trailing newline through
CALL_AMOUNTS = re.compile(rf"(?:{_AMOUNT}\n)*{_AMOUNT}")  # many amounts, one per line
NANOS = 10**9


def is_currency(code: str) -> bool:
    return code in MINOR_UNITS


def minor_unit(currency: str) -> int:
    """Digits after the point for `currency` (EUR 2, JPY 0, KWD 3)."""
    return MINOR_UNITS[currency]


_QUANTUM = {code: Decimal(1).scaleb(-digits) for code, digits in MINOR_UNITS.items()}  # EUR: 0.01


def round_money(amount: Decimal, currency: str) -> Decimal:
    """The one rounding rule of SPEC §5: half-up to the currency's minor unit."""
    return amount.quantize(_QUANTUM[currency], rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str) -> str:
    """Decimal string with exactly the currency's minor-unit digits ("1234.50", "12", "1.250")."""
    return f"{round_money(amount, currency):f}"


def parse_call_amount(text: str) -> tuple[int, int] | None:
    """A call amount as (whole units, nanos), or None if it is not a plain decimal string.

    Two integers keep 12 integer + 9 fraction digits exact in 64-bit SQL columns.
    """
    if not CALL_AMOUNT.fullmatch(text):
        return None
    whole, _, frac = text.partition(".")
    return int(whole), int(frac.ljust(9, "0")) if frac else 0


def parse_call_amounts(texts: Sequence[str]) -> tuple[list[int], list[int]] | None:
    """parse_call_amount for many amounts at once: ([units], [nanos]) if every one is a plain
    decimal string, else None (then parse them one by one to find which). C loops only."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1 or not CALL_AMOUNTS.fullmatch(joined):
        return None  # (no amount contains a newline, so each line is exactly one amount)
    parts = list(map(str.partition, texts, repeat(".")))
    units = list(map(int, map(itemgetter(0), parts)))
    nanos = list(map(int, map(str.ljust, map(itemgetter(2), parts), repeat(9), repeat("0"))))
    return units, nanos


def from_units_nanos(units: int, nanos: int) -> Decimal:
    return Decimal(units) + Decimal(nanos).scaleb(-9)


def parse_decimal(field: str, text: str) -> Decimal:
    """A plain (unsigned or signed) decimal string as Decimal; anything else is INVALID_ARGUMENT."""
    if not re.fullmatch(r"-?[0-9]{1,18}(\.[0-9]{1,18})?", text or ""):
        raise InvalidArgument(field, f"not a decimal number: {text[:40]!r}")
    return Decimal(text)


def parse_amount(field: str, text: str, currency: str) -> Decimal:
    """A positive amount with at most the currency's minor digits ("12.50" EUR, "1200" JPY)."""
    digits = minor_unit(currency)
    pattern = r"[0-9]{1,15}" + (rf"(\.[0-9]{{1,{digits}}})?" if digits else "")
    if not re.fullmatch(pattern, text or ""):
        raise InvalidArgument(field, f"want a decimal amount > 0 with at most {digits} decimals for {currency}, "
                                     f"got {(text or '')[:40]!r}")
    amount = Decimal(text)
    if amount <= 0:
        raise InvalidArgument(field, "must be greater than 0")
    return amount
