"""VerifyStore over the API (SPEC §11): replay and check the store while the server runs."""
from typing import Iterator

from service.audit.verify import Report, verify_steps
from service.persistence.document_index import DocumentIndex
from service.persistence.ledger import Ledger


class StoreAudit:
    def __init__(self, store, ledger: Ledger, index: DocumentIndex):
        self.store = store
        self.ledger = ledger
        self.index = index

    def verify(self) -> Iterator[tuple[int, int]]:
        """Yields (events checked, events total); returns the Report."""
        report: Report = yield from verify_steps(self.store, self.ledger, self.index)
        return report
