"""Strategies and a checking harness for the hostile-input suite (tests/e2e/test_hostile_input.py)."""
import logging
import random
import re
from datetime import date, timedelta

import grpc
from hypothesis import strategies as st
from google.protobuf import timestamp_pb2
from google.type import date_pb2

from billing.v1 import types_pb2, usage_pb2
from service.persistence.schema import TABLES

C = grpc.StatusCode
ALLOWED = {C.OK, C.INVALID_ARGUMENT, C.NOT_FOUND, C.FAILED_PRECONDITION, C.ALREADY_EXISTS, C.RESOURCE_EXHAUSTED}
LEDGER_TABLES = [m.group(1) for t in TABLES if (m := re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", t))]

# ------------------------------------------------------------------ strategies

WEIRD = ["", " ", "\x00", "\t\n", "\u202eevil", "😀", "٣", "a\u0301", "\ufeff", "\uffff", "NaN", "nan", "Infinity",
         "-Inf", "1e999", "-0", "+0", "0x1F", "1_000", "null", "'; DROP TABLE billing_calls; --", "%s%n%x",
         "{{ invoice.__class__ }}", "../../etc/passwd", "\\", "𝟙", "１２３", "Zürich", "ß", "Łódź", "Москва"]
LONG = ["x" * 255, "x" * 256, "x" * 1001, "é" * 70_000]  # messages over 8 MiB: their own test
AMOUNTS = ["1e999", "-0", "٣", "NaN", "Infinity", "-1", "+1", "1e3", "1E3", "0.1234567891", "1234567890123", "0",
           "0.0", ".5", "5.", "1..2", "1 000", "０.５", "0x1", "9" * 12 + "." + "9" * 9, "9" * 12, "0." + "0" * 9,
           "00000000000001.5", "1,5", "²", "1\x00", " 1", "1 ", "-0.00", "0.0125", "٣.٥", "1.000000000"]
SECONDS = [-2**62, 2**62, -2**63, 2**63 - 1, -62135596801, -62135596800, 253402300799, 253402300800, 0, -1,
           1773137400, 1774900800, 1775000000]
NANOS = [-1, 0, 1, 999_999_999, 1_000_000_000, 2**31 - 1, -2**31]
UINT32 = [0, 1, 59, 60, 2**31, 2**32 - 1]
UINT64 = [0, 1, 2, 100001, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1]
RESELLERS = ["r1", "jp", "nope", ""]
INT32 = [0, -1, 1, 2, 12, 13, 28, 29, 30, 31, 32, 9999, 10000, 2**31 - 1, -2**31]

# Pools: hypothesis draws each field value with ONE choice (drawing characters one by one is slow), so
# the full run reaches >= 10,000 messages in about a minute. Random members come from a fixed seed.
_rng = random.Random(20260310)
_ALPHABETS = ["abcXYZ019", " \t\r\n\x00\x1b\x7f", "äöüßéÅŁłÇç", "٠١٢٣٤٥٦٧٨٩۰۱", "０１２３４５６７８９．", "ЖжЯя中文日本語",
              "😀🇩🇪\u200b\u200d\u202e\ufeff", "{}%#*_`|<>'\"\\;.-+eE"]


def _random_text(n: int) -> list[str]:
    out = []
    for _ in range(n):
        letters = "".join(_rng.sample(_ALPHABETS, _rng.randint(1, 3)))
        out.append("".join(_rng.choice(letters) for _ in range(_rng.choice([1, 2, 5, 12, 40, 300]))))
    return out


def _random_amounts(n: int) -> list[str]:
    return [f"{_rng.randint(0, 10**_rng.randint(1, 12) - 1)}" + (f".{_rng.randint(0, 10**9 - 1):09d}"[
        :_rng.randint(2, 10)] if _rng.random() < 0.7 else "") for _ in range(n)]


def pool(*values) -> st.SearchStrategy:
    return st.sampled_from([v for group in values for v in group])


SHORT = WEIRD + _random_text(150)
short_text = pool(SHORT)
text = pool(SHORT, LONG)
amount = pool(AMOUNTS, _random_amounts(150), SHORT[:40])
uint32 = pool(UINT32, [_rng.randint(0, 2**32 - 1) for _ in range(30)])
uint64 = pool(UINT64, [_rng.randint(0, 2**64 - 1) for _ in range(30)], [_rng.randint(1, 10**7) for _ in range(20)])
reseller_id = pool(RESELLERS * 8, SHORT[:60], LONG)
call_id = pool(["c1", "c2", "c3", "c4", ""] * 10, SHORT, LONG[:1])
currency = pool(["EUR"] * 10, ["JPY"] * 4, ["eur", "", "KWD", "EURO", "XXX", "€"], SHORT[:30])
group = pool(["Germany Mobile", "Fixed"] * 10, SHORT, LONG)
_SECONDS = SECONDS + [_rng.randint(1772323200, 1775001600) for _ in range(60)] + \
    [_rng.randint(-2**63, 2**63 - 1) for _ in range(20)]
_NANOS = NANOS + [_rng.randint(0, 999_999_999) for _ in range(10)] + [_rng.randint(-2**31, 2**31 - 1) for _ in range(5)]
timestamp = pool([None] * 20, [timestamp_pb2.Timestamp(seconds=_rng.choice(_SECONDS), nanos=_rng.choice(_NANOS))
                               for _ in range(200)], [timestamp_pb2.Timestamp(seconds=x) for x in _SECONDS])


def _call(call_id, reseller_id, started, billed_seconds, destination, group, amount, currency):
    c = usage_pb2.Call(call_id=call_id, reseller_id=reseller_id, billed_seconds=billed_seconds,
                       destination=destination, destination_group=group, amount=amount, currency=currency)
    if started is not None:
        c.started_at.CopyFrom(started)
    return c


calls = st.builds(_call, call_id, reseller_id, timestamp, uint32, short_text, group, amount, currency)
batches = st.lists(st.lists(calls, max_size=4).map(lambda cs: usage_pb2.CallBatch(calls=cs)), max_size=3)

_DAYS = [date(2025, 12, 1) + timedelta(days=i) for i in range(0, 212, 3)]
_INTS = INT32 + [_rng.randint(-2**31, 2**31 - 1) for _ in range(10)]
dates = pool([date_pb2.Date(year=d.year, month=d.month, day=d.day) for d in _DAYS] * 2,
             [date_pb2.Date(year=_rng.choice(_INTS), month=_rng.choice(_INTS), day=_rng.choice(_INTS))
              for _ in range(100)], [date_pb2.Date()])


def _period(absent: int, start, end):
    return None if absent == 0 else types_pb2.Period(start_date=None if absent == 1 else start,
                                                    end_date=None if absent == 2 else end)


periods = st.builds(_period, st.integers(0, 12), dates, dates)


# Invalid UTF-8 (and the other byte sequences proto3 `string` forbids), spliced into serialized messages.
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"abc\xfe", b"\xc0\xaf",
            b"\xf4\x90\x80\x80"]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def string_fields(descriptor) -> list[int]:
    return [f.number for f in descriptor.fields if f.type == f.TYPE_STRING]


# ------------------------------------------------------------------ harness

class ServerErrors(logging.Handler):
    """Collects the server's logged internal errors (with traceback) to explain a failing status."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record):
        self.records.append(self.format(record))


class Harness:
    """Sends requests, checks their status and that rejected ones left the store unchanged."""

    def __init__(self, running, channel):
        self.store, self.channel, self.messages = running.store, channel, 0
        self.errors = ServerErrors()
        self.last: tuple | None = None  # the store after the previous request: only this harness writes

    def snapshot(self) -> tuple:
        with self.store.backend.transaction(write=False) as sql:
            counts = tuple(sql.execute(f"SELECT COUNT(*) FROM {t}").fetchall()[0][0] for t in LEDGER_TABLES)
        return self.store.event_log.head(), counts

    def call(self, what: str, fn, request, messages: int = 1, timeout: float = 60, atomic: bool = True):
        """Call; return (code, response, snapshot before). Asserts an allowed status and, for an atomic
        request (one transaction), no change on rejection."""
        before = self.last or self.snapshot()
        self.errors.records.clear()
        try:
            response, code, details = fn(request, timeout=timeout), C.OK, ""
        except grpc.RpcError as e:
            response, code, details = None, e.code(), e.details()
        self.messages += messages
        explain = f"{what}: {code.name} {details!r}\nrequest: {summarise(request)}\nserver: {self.errors.records}"
        self.last = self.snapshot()
        self.expect(code in ALLOWED, explain)
        if code != C.OK and atomic:
            self.expect(self.last == before, f"rejected request changed the store\n{explain}")
        return code, response, before

    @staticmethod
    def expect(ok: bool, explain: str) -> None:
        """A finding fails the test at once, with the request and the server's logged errors."""
        if not ok:
            raise AssertionError(explain)


def summarise(request, limit: int = 600) -> str:
    if isinstance(request, (bytes, bytearray)):
        return f"<{len(request)} raw bytes> {bytes(request[:limit])!r}"
    if isinstance(request, list):
        return "[" + ", ".join(summarise(r, limit // max(len(request), 1)) for r in request) + "]"
    text = repr(request)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
