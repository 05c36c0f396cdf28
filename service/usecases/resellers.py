"""Resellers (SPEC §3): register and change terms; read them."""
from domain.errors import NotFound
from domain.numbering import DocumentKind
from domain.reseller import Reseller, ResellerTerms, reseller_uuid
from domain.text import MAX_ID
from service.event_store import EventStore
from service.persistence.reseller_index import ResellerIndex, ResellerTermsWrite
from service.retry import retrying
from service.usecases.numbering import NumberingAdmin


class Resellers:
    def __init__(self, store: EventStore, index: ResellerIndex, numbering: NumberingAdmin):
        self.store = store
        self.index = index
        self.numbering = numbering  # a reseller's series must exist and be of the right kind

    def upsert_fields(self, base: dict, present: dict) -> tuple[Reseller, int]:
        """UpsertReseller: `base` = the first release's fields; `present` = the Part II fields the
        request carried (the others keep their stored values, or their defaults on a new reseller)."""
        stored = self.store.load_or_none(reseller_uuid(base["reseller_id"])) if base["reseller_id"] else None
        merged = {**(stored.terms.part_two() if stored else {}), **present}
        terms = ResellerTerms.parse(**base, **merged)
        self.numbering.series_for(DocumentKind.INVOICE, terms.invoice_series_id, "invoice_series_id")
        self.numbering.series_for(DocumentKind.CREDIT_NOTE, terms.credit_note_series_id, "credit_note_series_id")
        return self.upsert(terms)

    def upsert(self, terms: ResellerTerms) -> tuple[Reseller, int]:
        def attempt():
            reseller = self.store.load_or_none(reseller_uuid(terms.reseller_id))
            if reseller is None:
                reseller, changed = Reseller(terms.reseller_id, terms.as_dict()), False
            elif reseller.terms == terms:
                return reseller, self.store.positions.of(reseller.id)  # nothing changed: no event
            else:
                changed = reseller.billing_terms_differ(terms)
                reseller.change(terms.as_dict())
            write = ResellerTermsWrite(terms.reseller_id, terms.currency, terms.time_zone, changed)
            return reseller, self.store.save_all(reseller, side_writes=(write,))
        return retrying(attempt)

    def get(self, reseller_id: str) -> Reseller:
        """The reseller for reading (callers never mutate it: upsert loads its own copy)."""
        reseller = self.store.read(reseller_uuid(reseller_id))
        if reseller is None:
            raise NotFound(f"reseller {reseller_id[:MAX_ID]!r} not found")
        return reseller

    def get_with_position(self, reseller_id: str) -> tuple[Reseller, int]:
        reseller = self.get(reseller_id)
        return reseller, self.store.positions.of(reseller.id)

    def page(self, after: str, limit: int) -> tuple[list[tuple[Reseller, int]], bool]:
        """Resellers by id above `after`: (up to `limit` of them with positions, more follow)."""
        ids = self.index.ids_after(after, limit + 1)
        return [self.get_with_position(i) for i in ids[:limit]], len(ids) > limit
