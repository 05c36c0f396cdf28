"""ListInvoices / SearchInvoices on the read models (SPEC §5), with read-your-writes waiting."""
from projections.invoice_list import Receivable
from projections.invoice_search import SearchFilter
from projections.runner import ProjectionRunner

MIN_POSITION_WAIT = 5.0  # seconds (SPEC §5)
OWN_WRITES_WAIT = 1.0  # without min_position: wait this long at most for this process's acknowledged writes

Page = list[tuple[dict, int]]  # [(invoice document, position)], newest first


class InvoiceQueries:
    def __init__(self, runner: ProjectionRunner):
        self.runner = runner

    def caught_up(self, min_position: int, limit: float = MIN_POSITION_WAIT) -> bool:
        """Wait (condition variable, at most `limit` s) until the read models applied `min_position`.

        Without min_position, reads still see every write this server process acknowledged
        (usually no wait at all); if the projection is stuck they serve what it has after 1 s.
        """
        if not min_position:
            self.runner.wait_for(self.runner.own_writes(), OWN_WRITES_WAIT)
            return True
        return self.runner.wait_for(min_position, limit)

    @property
    def applied(self) -> int:
        return self.runner.applied

    def page(self, reseller_id: str, before: int, limit: int, receivable: Receivable = Receivable()) -> Page:
        """Invoices newest first (by ordinal: the order of issue) below `before`."""
        return self.runner.query("invoice_list",
                                 lambda m, sql, g: m.page(sql, g, reseller_id, before, limit, receivable))

    def reseller_documents(self, reseller_id: str) -> list[dict]:
        """Every invoice document of a reseller, in issue order (statements, payments)."""
        return self.runner.query("invoice_list", lambda m, sql, g: m.of_reseller(sql, g, reseller_id))

    def credit_notes(self, reseller_id: str, invoice_id: str, before: int, limit: int) -> Page:
        return self.runner.query("credit_note_list",
                                 lambda m, sql, g: m.page(sql, g, reseller_id, invoice_id, before, limit))

    def search(self, where: SearchFilter, before: int, limit: int) -> Page:
        return self.runner.query("invoice_search", lambda m, sql, g: m.search(sql, g, where, before, limit))
