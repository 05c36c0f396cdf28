"""Resellers (SPEC §3): register and change terms; read them."""
from domain.reseller import Reseller, ResellerTerms, reseller_uuid
from domain.text import MAX_ID
from service.event_store import EventStore
from service.persistence.reseller_index import ResellerIndex, ResellerTermsWrite
from service.retry import retrying


class Resellers:
    def __init__(self, store: EventStore, index: ResellerIndex):
        self.store = store
        self.index = index

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
        return self.store.load(reseller_uuid(reseller_id), f"reseller {reseller_id[:MAX_ID]!r}")

    def get_with_position(self, reseller_id: str) -> tuple[Reseller, int]:
        reseller = self.get(reseller_id)
        return reseller, self.store.positions.of(reseller.id)

    def page(self, after: str, limit: int) -> tuple[list[tuple[Reseller, int]], bool]:
        """Resellers by id above `after`: (up to `limit` of them with positions, more follow)."""
        ids = self.index.ids_after(after, limit + 1)
        return [self.get_with_position(i) for i in ids[:limit]], len(ids) > limit
