"""Hostile input: every write RPC fuzzed with random and boundary messages (SPEC §9).

The server must answer each with a proper status (never UNKNOWN/INTERNAL), change nothing when it
rejects, and still be SERVING afterwards; any finding fails the test at once. Each fuzz test runs in
two sizes: `smoke` (about 500 messages, in every run) and `full` (BILLING_FUZZ_EXAMPLES, default about
10,000 messages; marked `slow`: CI runs it, a plain `make test` does not). For a long session by hand:
BILLING_RUN_SLOW=1 BILLING_FUZZ_EXAMPLES=200000 pytest tests/e2e/test_hostile_input.py -k full
"""
import logging
import os

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile as h
from billing.v1 import invoice_pb2, numbering_pb2, reseller_pb2, template_pb2, template_pb2_grpc, usage_pb2
from helpers import Stubs, call, period, reseller

SMOKE = 500
FULL = int(os.environ.get("BILLING_FUZZ_EXAMPLES", "10000"))
SIZES = pytest.mark.parametrize("total", [pytest.param(SMOKE, id="smoke"),
                                          pytest.param(FULL, id="full", marks=pytest.mark.slow)])
# Examples per test as a share of the total; a RecordCalls example sends ~2.3 messages, a mixed one ~3.
SHARES = {"upsert": 0.11, "calls": 0.12, "create": 0.11, "void": 0.07, "numbering": 0.07, "raw": 0.16,
          "templates": 0.08, "mixed": 0.05}
C = grpc.StatusCode


def examples(name: str, harness, total: int) -> int:
    """SQLite gets 80% of the messages, PostgreSQL (slower per request, same code paths above the SQL) 20%."""
    return max(int(total * SHARES[name] * (0.2 if harness.postgres else 0.8)), 20)


def fuzz(strategy, n: int, body) -> None:
    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value):
        body(value)
    run()


@pytest.fixture
def harness(server, channel, database_url):
    """The real server with two resellers (EUR, JPY) and a few calls; health is checked at the end."""
    stubs = Stubs(channel)
    stubs.resellers.UpsertReseller(reseller())
    stubs.resellers.UpsertReseller(reseller("jp", name="Tokyo", currency="JPY", time_zone="Asia/Tokyo", tax_rate="0.1"))
    stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=[call("seed1"), call("seed2", reseller_id="jp",
                                                                                    amount="12", currency="JPY")])]))
    harness = h.Harness(server, channel)
    harness.stubs, harness.invoices = stubs, []
    harness.postgres = not database_url.startswith("sqlite")
    logging.getLogger().addHandler(harness.errors)
    yield harness
    logging.getLogger().removeHandler(harness.errors)
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    print(f"\nhostile input: {harness.messages} messages sent")


# ------------------------------------------------------------------ per RPC

resellers = st.builds(
    reseller_pb2.Reseller, reseller_id=h.reseller_id, name=h.text,
    address_lines=st.one_of(st.lists(h.text, max_size=4), st.just(["line"] * 10_000)), tax_id=h.short_text,
    email=h.short_text, position=h.uint64,
    currency=st.one_of(st.sampled_from(["EUR", "JPY", "KWD", "XXX", "eur", "", "EURO", "€"]), h.short_text),
    time_zone=st.one_of(st.sampled_from(["UTC", "Europe/Berlin", "Mars/Olympus", "../../etc/passwd", "",
                                         "Etc/GMT+14", "posixrules", "localtime", "Factory", "/etc/localtime",
                                         "Europe/Berlin\x00", "europe/berlin"]), h.short_text),
    tax_rate=st.one_of(st.sampled_from(["0.19", "0", "1", "0.999999999", "-0", "1e-2", "NaN", "-0.1", "٠.١",
                                        "0." + "1" * 100, "1" + "0" * 400]), h.amount))
creates = st.builds(invoice_pb2.CreateInvoiceRequest, reseller_id=h.reseller_id, period=h.periods,
                    request_id=st.one_of(st.sampled_from(["", "req-1", "req-2"]), h.short_text,
                                         st.sampled_from(h.LONG)))
known_or_any_id = st.one_of(st.integers(0, 30), st.uuids().map(str), h.short_text, st.sampled_from([
    "00000000-0000-0000-0000-000000000000", "urn:uuid:12345678-1234-5678-1234-567812345678", "{" + "1" * 32 + "}"]))
voids = st.tuples(known_or_any_id, st.one_of(st.sampled_from(["", "duplicate", "x" * 1000, "x" * 1001]), h.text))
numberings = st.builds(
    numbering_pb2.UpdateNumberingRequest, start=h.uint64,
    pattern=st.one_of(st.sampled_from(["%num%", "%num%/%year%", "%year%-%mon%-%mday%-%num%", "%num%%num%", "",
                                       "%NUM%", "%num", "%year%", "x" * 300, "%num%" + "x" * 10_000]),
                      h.short_text, h.short_text.map(lambda t: t + "%num%")))


def record(harness, batches) -> None:
    rpc = harness.stubs.usage.RecordCalls
    code, response, before = harness.call("RecordCalls", lambda bs, timeout: rpc(iter(bs), timeout=timeout),
                                          batches, messages=max(len(batches), 1), atomic=len(batches) <= 1)
    if code == C.OK:
        sent = sum(len(b.calls) for b in batches)
        assert response.accepted + response.duplicates + len(response.rejected) == sent, response
        assert len({r.index for r in response.rejected}) == len(response.rejected)
        assert all(r.index < sent for r in response.rejected)
        if response.accepted == 0:
            assert harness.last == before, "no call accepted, yet the store changed"


def create(harness, request) -> None:
    code, invoice, _ = harness.call("CreateInvoice", harness.stubs.invoices.CreateInvoice, request)
    if code == C.OK:
        harness.invoices.append(invoice.invoice_id)


def void(harness, pair) -> None:
    which, reason = pair
    invoice_id = harness.invoices[which % len(harness.invoices)] if isinstance(which, int) and harness.invoices \
        else str(which)
    harness.call("VoidInvoice", harness.stubs.invoices.VoidInvoice,
                 invoice_pb2.VoidInvoiceRequest(invoice_id=invoice_id, reason=reason))


def upsert(harness, request) -> None:
    harness.call("UpsertReseller", harness.stubs.resellers.UpsertReseller, request)


def renumber(harness, request) -> None:
    harness.call("UpdateNumbering", harness.stubs.numbering.UpdateNumbering, request)


@SIZES
def test_upsert_reseller_survives_hostile_messages(harness, total):
    fuzz(resellers, examples("upsert", harness, total), lambda r: upsert(harness, r))


@SIZES
def test_record_calls_survives_hostile_streams(harness, total):
    fuzz(h.batches, examples("calls", harness, total), lambda bs: record(harness, bs))


@SIZES
def test_create_invoice_survives_hostile_requests(harness, total):
    fuzz(creates, examples("create", harness, total), lambda r: create(harness, r))


@SIZES
def test_void_invoice_survives_hostile_requests(harness, total):
    for month in range(1, 6):
        create(harness, invoice_pb2.CreateInvoiceRequest(
            reseller_id="r1", period=period(f"2026-0{month}-01", f"2026-0{month}-28")))
    assert len(harness.invoices) == 5
    fuzz(voids, examples("void", harness, total), lambda pair: void(harness, pair))


@SIZES
def test_update_numbering_survives_hostile_requests(harness, total):
    fuzz(numberings, examples("numbering", harness, total), lambda r: renumber(harness, r))


MIXED = st.lists(st.one_of(resellers.map(lambda r: (upsert, r)), h.batches.map(lambda b: (record, b)),
                           creates.map(lambda r: (create, r)), voids.map(lambda v: (void, v)),
                           numberings.map(lambda r: (renumber, r))), min_size=1, max_size=4)


@SIZES
def test_interleaved_writes_keep_every_status_proper(harness, total):
    """Writes of every kind in random order on one store: states no single-RPC run reaches."""
    fuzz(MIXED, examples("mixed", harness, total), lambda ops: [op(harness, arg) for op, arg in ops])


# ------------------------------------------------------------------ raw bytes

WRITES = {  # method path -> (request message class, client streaming)
    "/billing.v1.ResellerService/UpsertReseller": (reseller_pb2.Reseller, False),
    "/billing.v1.UsageService/RecordCalls": (usage_pb2.Call, True),  # spliced into a Call inside a CallBatch
    "/billing.v1.InvoiceService/CreateInvoice": (invoice_pb2.CreateInvoiceRequest, False),
    "/billing.v1.InvoiceService/VoidInvoice": (invoice_pb2.VoidInvoiceRequest, False),
    "/billing.v1.NumberingService/UpdateNumbering": (numbering_pb2.UpdateNumberingRequest, False),
}
VALID = {reseller_pb2.Reseller: reseller("r9"), usage_pb2.Call: call("raw1"),
         invoice_pb2.CreateInvoiceRequest: invoice_pb2.CreateInvoiceRequest(
             reseller_id="r1", period=period("2027-01-01", "2027-01-31")),
         invoice_pb2.VoidInvoiceRequest: invoice_pb2.VoidInvoiceRequest(invoice_id="x", reason="r"),
         numbering_pb2.UpdateNumberingRequest: numbering_pb2.UpdateNumberingRequest(pattern="%num%", start=10**6)}
SPLICES = [(path, number) for path, (cls, _) in WRITES.items() for number in h.string_fields(cls.DESCRIPTOR)]


def send_raw(harness, path: str, payload: bytes, expect=None) -> None:
    identity = lambda b: b  # noqa: E731
    streaming = WRITES[path][1]
    if streaming:
        rpc = harness.channel.stream_unary(path, request_serializer=identity, response_deserializer=identity)
        fn = lambda p, timeout: rpc(iter([h.length_delimited(1, p)]), timeout=timeout)  # noqa: E731
    else:
        fn = harness.channel.unary_unary(path, request_serializer=identity, response_deserializer=identity)
    code, response, _ = harness.call(path, fn, payload)
    if expect is not None:
        rejected = streaming and code == C.OK and usage_pb2.RecordCallsResponse.FromString(response).rejected
        assert code == expect or rejected, f"{path}: {code} for {h.summarise(payload)}"


@st.composite
def spliced(draw):
    """A valid request with one string field replaced by bytes that are not UTF-8."""
    path, number = draw(st.sampled_from(SPLICES))
    bad = draw(st.sampled_from(h.BAD_UTF8)) + draw(st.binary(max_size=8))
    return path, VALID[WRITES[path][0]].SerializeToString() + h.length_delimited(number, bad)


@st.composite
def garbage(draw):
    path = draw(st.sampled_from(sorted(WRITES)))
    valid = VALID[WRITES[path][0]].SerializeToString()
    return path, draw(st.one_of(st.binary(max_size=300), st.integers(0, len(valid)).map(lambda n: valid[:n]),
                                st.binary(max_size=20).map(lambda b: valid + b)))


@SIZES
def test_invalid_utf8_in_any_string_field_is_invalid_argument(harness, total):
    for path, payload in [(p, VALID[WRITES[p][0]].SerializeToString() + h.length_delimited(n, b"\xff"))
                          for p, n in SPLICES]:
        send_raw(harness, path, payload, expect=C.INVALID_ARGUMENT)
    fuzz(spliced(), examples("raw", harness, total) // 2,
         lambda pp: send_raw(harness, pp[0], pp[1], expect=C.INVALID_ARGUMENT))


@SIZES
def test_random_and_truncated_bytes_get_proper_statuses(harness, total):
    fuzz(garbage(), examples("raw", harness, total) // 2, lambda pp: send_raw(harness, *pp))


# ------------------------------------------------------------------ templates

def template_stub(harness):
    """The TemplateService stub; the service must be there (a missing one fails, it is never skipped)."""
    stub = template_pb2_grpc.TemplateServiceStub(harness.channel)
    try:
        stub.GetSeller(template_pb2.GetSellerRequest(), timeout=30)
    except grpc.RpcError as e:
        assert e.code() != C.UNIMPLEMENTED, f"TemplateService is missing from the server: {e.details()}"
    return stub


def template_ops(stub):
    source = st.one_of(h.text, st.sampled_from([
        "{{ invoice.number }}", "{{ invoice.__class__ }}", "{{", "}}", "{{ lines_table }}{{ totals_table }}",
        "{{ invoice.number | upper }}", "{{ seller.name() }}", "{{ bill_to['name'] }}", "# Heading\n**bold**",
        "x" * (256 * 1024), "x" * (256 * 1024 + 1), "{{ " * 5000]))
    logo = st.one_of(st.binary(max_size=64), st.sampled_from([
        b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"\xff\xd8\xff" + b"\0" * 100, b"\0" * (512 * 1024 + 1)]))
    uploads = st.builds(template_pb2.UploadTemplateRequest, name=h.short_text, source=source, logo=logo,
                        make_default=st.booleans()).map(lambda r: ("UploadTemplate", stub.UploadTemplate, r))
    defaults = st.builds(template_pb2.SetDefaultTemplateRequest, version=h.uint32).map(
        lambda r: ("SetDefaultTemplate", stub.SetDefaultTemplate, r))
    sellers = st.builds(template_pb2.Seller, name=h.text, address_lines=st.lists(h.text, max_size=4),
                        tax_id=h.short_text, email=h.short_text, bank_details=h.text, position=h.uint64).map(
        lambda r: ("UpdateSeller", stub.UpdateSeller, r))
    return st.one_of(uploads, defaults, sellers)


@SIZES
def test_template_writes_survive_hostile_requests(harness, total):
    stub = template_stub(harness)

    def body(op):
        name, fn, request = op
        code, _, _ = harness.call(name, fn, request)
        assert code != C.UNIMPLEMENTED
    fuzz(template_ops(stub), examples("templates", harness, total), body)


# ------------------------------------------------------------------ boundaries

@pytest.mark.parametrize("path", sorted(WRITES))
def test_a_message_over_8_mib_is_resource_exhausted_and_stores_nothing(harness, path):
    cls = WRITES[path][0]
    field = h.string_fields(cls.DESCRIPTOR)[0]
    payload = VALID[cls].SerializeToString() + h.length_delimited(field, b"z" * (8 * 1024 * 1024 + 1))
    send_raw(harness, path, payload, expect=C.RESOURCE_EXHAUSTED)


def test_empty_streams_and_batches_accept_nothing(harness):
    record(harness, [])
    record(harness, [usage_pb2.CallBatch(), usage_pb2.CallBatch()])


def test_a_batch_over_10000_calls_is_rejected_call_by_call(harness):
    batch = usage_pb2.CallBatch(calls=[call(f"big{i}") for i in range(10_001)])
    code, response, before = harness.call("RecordCalls", lambda bs, timeout: harness.stubs.usage.RecordCalls(
        iter(bs), timeout=timeout), [batch])
    assert code == C.OK and response.accepted == 0 and len(response.rejected) == 10_001
    assert harness.last == before


# ------------------------------------------------------------------ reads, and NUL characters in calls

HOSTILE_IDS = ["r\x00", "\x00", "x" * 70_000, "\u202e", "'; DROP TABLE billing_invoices; --", "%", "_", "\\"]
READS = {
    "GetReseller": lambda s, v: s.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id=v)),
    "ListResellers": lambda s, v: s.resellers.ListResellers(reseller_pb2.ListResellersRequest(page_token=v)),
    "GetUsageSummary": lambda s, v: s.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(
        reseller_id=v, period=period("2026-03-01", "2026-03-31"))),
    "CalculateInvoice": lambda s, v: s.invoices.CalculateInvoice(invoice_pb2.CalculateInvoiceRequest(
        reseller_id=v, period=period("2026-03-01", "2026-03-31"))),
    "GetInvoice.number": lambda s, v: s.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(number=v)),
    "GetInvoice.invoice_id": lambda s, v: s.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=v)),
    "ListInvoices": lambda s, v: s.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(reseller_id=v)),
    "ListInvoices.page_token": lambda s, v: s.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(page_token=v)),
    "SearchInvoices": lambda s, v: s.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query=v, reseller_id=v)),
    "SearchInvoices.page_token": lambda s, v: s.invoices.SearchInvoices(
        invoice_pb2.SearchInvoicesRequest(page_token=v)),
    "RenderInvoicePdf": lambda s, v: s.invoices.RenderInvoicePdf(invoice_pb2.RenderInvoicePdfRequest(invoice_id=v)),
    "GetInvoiceHistory": lambda s, v: s.invoices.GetInvoiceHistory(invoice_pb2.GetInvoiceHistoryRequest(
        invoice_id=v)),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_read_rpcs_answer_hostile_ids_with_proper_statuses(harness, read):
    for value in HOSTILE_IDS:
        harness.call(read, lambda v, timeout: READS[read](harness.stubs, v), value)


@pytest.mark.parametrize("field", ["reseller_id", "call_id", "destination", "destination_group", "amount", "currency"])
def test_a_nul_character_in_a_streamed_call_rejects_only_that_call(harness, field):
    bad = call("bad1")
    setattr(bad, field, getattr(bad, field) + "\x00")
    code, response, _ = harness.call("RecordCalls", lambda bs, timeout: harness.stubs.usage.RecordCalls(
        iter(bs), timeout=timeout), [usage_pb2.CallBatch(calls=[call("ok1"), bad])])
    assert code == C.OK and response.accepted == 1 and [r.index for r in response.rejected] == [1]
