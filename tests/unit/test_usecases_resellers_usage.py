"""The reseller, usage and numbering-series use cases (Resellers, Ingest, NumberingAdmin series) against
in-memory fakes (tests/unit/fakes.py), and the fakes' own transaction rule."""
import pytest

from domain.errors import FailedPrecondition, InvalidArgument, NotFound
from domain.invoice import UsageRow
from domain.numbering import DocumentKind, Numbering
from service.persistence.document_index import DocumentIssuedWrite, SeriesCreatedWrite
from unit.fakes import call, events, period, terms



# ---- Resellers -------------------------------------------------------------------------------
def test_an_unchanged_upsert_records_nothing(uc):
    reseller, position = uc.resellers.get_with_position("r1")
    before = events(uc)
    assert uc.resellers.upsert(terms("r1"))[1] == position and events(uc) == before


def test_currency_change_before_any_call_is_allowed_and_ingest_follows_it(uc):
    uc.resellers.upsert(terms("r1", currency="CHF", time_zone="UTC"))
    result = uc.ingest.record_calls([call("eur", currency="EUR"), call("chf", currency="CHF")])
    assert result.accepted == 1 and result.rejected == [(0, "eur", "currency 'EUR' is not the reseller's CHF")]


@pytest.mark.parametrize("change", [{"currency": "CHF"}, {"time_zone": "UTC"}])
def test_currency_or_zone_change_after_calls_is_refused_and_stores_nothing(uc, change):
    uc.ingest.record_calls([call("a")])
    before = events(uc)
    with pytest.raises(FailedPrecondition, match="once the reseller has calls"):
        uc.resellers.upsert(terms("r1", **change))
    assert events(uc) == before and uc.resellers.get("r1").terms == terms("r1")
    assert uc.fake.resellers.terms["r1"][:2] == ["EUR", "Europe/Berlin"]


def test_other_terms_may_change_after_calls(uc):
    uc.ingest.record_calls([call("a")])
    reseller, _ = uc.resellers.upsert(terms("r1", name="New name", tax_rate="0.2"))
    assert (reseller.terms.name, reseller.terms.tax_rate) == ("New name", "0.2")


def test_resellers_page_in_id_order(uc):
    for rid in ("r3", "r0", "r2"):
        uc.resellers.upsert(terms(rid))
    first, more = uc.resellers.page("", 2)
    assert [r.reseller_id for r, _ in first] == ["r0", "r1"] and more
    rest, more = uc.resellers.page("r1", 2)
    assert [r.reseller_id for r, _ in rest] == ["r2", "r3"] and not more


def test_an_unknown_reseller_is_not_found(uc):
    with pytest.raises(NotFound, match="nobody"):
        uc.resellers.get("nobody")


# ---- Ingest ----------------------------------------------------------------------------------
def test_every_call_is_accepted_duplicate_or_rejected_with_its_stream_index(uc):
    uc.ingest.record_calls([call("a"), call("b")])
    batch = [call("a"), call("b", amount="9"), call("c"), call("d", reseller_id="nobody"),
             call("e", currency="USD"), call("", group="x"), call("c")]
    result = uc.ingest.record_calls(batch, base=10)
    assert (result.accepted, result.duplicates, result.late) == (1, 2, 0)
    assert result.rejected == [(11, "b", "call_id already stored with different content"),
                               (13, "d", "unknown reseller 'nobody'"),
                               (14, "e", "currency 'USD' is not the reseller's EUR"), (15, "", "empty call_id")]
    assert result.accepted + result.duplicates + len(result.rejected) == len(batch)


def test_usage_summary_splits_billed_unbilled_and_late(uc):
    uc.ingest.record_calls([call("a", amount="1"), call("b", amount="2", group="AT")])
    invoice, _ = uc.invoicing.create("r1", period())
    uc.ingest.record_calls([call("late", "2026-03-31T12:00:00", "4"), call("april", "2026-04-01T12:00:00", "8")])
    currency, groups = uc.ingest.usage_summary("r1", period("2026-03-01", "2026-04-30"))
    states = {g: {s: v for s, v in u.states.items() if v[0]} for g, u in groups.items()}
    assert currency == "EUR" and list(groups) == ["AT", "DE Mobile"]
    assert states == {"AT": {"billed": [1, 60, 2, 0]},
                      "DE Mobile": {"billed": [1, 60, 1, 0], "late": [1, 60, 4, 0], "unbilled": [1, 60, 8, 0]}}
    uc.invoicing.void(invoice.id, "rebill")
    uc.invoicing.create("r1", period())
    _, groups = uc.ingest.usage_summary("r1", period())
    assert groups["DE Mobile"].states == {"billed": [2, 120, 5, 0], "unbilled": [0] * 4, "late": [0] * 4}


def test_usage_summary_of_an_unknown_reseller_is_not_found(uc):
    with pytest.raises(NotFound):
        uc.ingest.usage_summary("nobody", period())


# ---- the fakes themselves ----------------------------------------------------------------------
def test_a_save_whose_side_write_fails_stores_no_events_and_undoes_its_other_side_writes(uc):
    numbering, march = Numbering(), period()
    ok = SeriesCreatedWrite("extra", DocumentKind.INVOICE)
    stale = DocumentIssuedWrite("inv", DocumentKind.INVOICE, "r1", "1", "invoices", 1, march.start, march.end,
                                usage=(UsageRow("DE Mobile", 1, 60, 1, 0),))  # no such usage is stored
    before = events(uc)
    with pytest.raises(Exception, match="calls arrived"):
        uc.store.save_all(numbering, side_writes=(ok, stale))
    assert events(uc) == before and uc.fake.documents.series == {} and uc.fake.documents.rows() == {}


# ---- numbering series (SPEC §12) ---------------------------------------------------------------
def test_a_new_series_is_listed_with_the_built_in_ones(uc):
    created = uc.numbering.upsert_series("eu-2026", DocumentKind.INVOICE, "EU-%num%", 10)
    assert (created.series_id, created.kind, created.pattern, created.next_number) == (
        "eu-2026", DocumentKind.INVOICE, "EU-%num%", 10) and created.position > 0
    page, more = uc.numbering.page("", 10)
    assert [s.series_id for s in page] == ["credit-notes", "eu-2026", "invoices"] and not more


@pytest.mark.parametrize("series_id,kind,pattern,start,error", [
    ("Bad_Id", DocumentKind.INVOICE, "%num%", 1, InvalidArgument),
    ("new", DocumentKind.INVOICE, "", 1, InvalidArgument),  # a new series needs a pattern
    ("invoices", DocumentKind.CREDIT_NOTE, "", 0, FailedPrecondition),  # kinds never change
])
def test_series_rules(uc, series_id, kind, pattern, start, error):
    with pytest.raises(error):
        uc.numbering.upsert_series(series_id, kind, pattern, start)


def test_a_series_start_only_moves_forward(uc):
    uc.numbering.upsert_series("eu", DocumentKind.INVOICE, "EU-%num%", 10)
    with pytest.raises(FailedPrecondition, match="below the next number 10"):
        uc.numbering.upsert_series("eu", DocumentKind.INVOICE, "", 9)
    assert uc.numbering.upsert_series("eu", DocumentKind.INVOICE, "E%num%", 0).next_number == 10


def test_a_resellers_series_numbers_its_invoices_on_its_own(uc):
    uc.numbering.upsert_series("eu", DocumentKind.INVOICE, "EU-%num%", 1)
    uc.resellers.upsert(terms("r2", invoice_series_id="eu"))
    assert uc.invoicing.create("r2", period())[0].number == "EU-1"
    assert uc.invoicing.create("r1", period())[0].number == "1"
    assert uc.invoicing.create("r2", period("2026-04-01", "2026-04-30"))[0].number == "EU-2"
    assert uc.numbering.get_series("eu").next_number == 3 and uc.numbering.get()[0].next_number == 2


def test_a_number_another_document_has_is_refused_naming_the_series_and_moves_nothing(uc):
    uc.numbering.upsert_series("twin", DocumentKind.INVOICE, "%num%", 1)  # same pattern as `invoices`
    uc.resellers.upsert(terms("r2", invoice_series_id="twin"))
    uc.invoicing.create("r1", period())
    before = events(uc)
    with pytest.raises(FailedPrecondition, match="series twin"):
        uc.invoicing.create("r2", period())
    assert events(uc) == before and uc.numbering.get_series("twin").next_number == 1


def test_an_unknown_or_wrong_kind_series_cannot_be_given_to_a_reseller(uc):
    base = dict(reseller_id="r3", name="R3", currency="EUR", time_zone="UTC", tax_rate="0")
    with pytest.raises(NotFound):
        uc.resellers.upsert_fields(base, {"invoice_series_id": "nowhere"})
    with pytest.raises(InvalidArgument) as error:
        uc.resellers.upsert_fields(base, {"invoice_series_id": "credit-notes"})
    assert error.value.field == "invoice_series_id"
