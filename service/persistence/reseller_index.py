"""billing_resellers: the terms ingest needs and each reseller's call-batch watermark, kept in step
with Reseller events (written in the events' transaction)."""
from dataclasses import dataclass

from domain.errors import FailedPrecondition
from service.persistence.backend import Backend, Sql


class ResellerIndex:
    def __init__(self, backend: Backend):
        self.backend = backend

    def ids_after(self, after: str, limit: int) -> list[str]:
        """Reseller ids in order, above `after` (paging)."""
        with self.backend.transaction(write=False) as sql:
            sql.execute("SELECT reseller_id FROM billing_resellers WHERE reseller_id > ? "
                        "ORDER BY reseller_id LIMIT ?", (after, limit))
            return [r[0] for r in sql.fetchall()]


@dataclass(frozen=True)
class ResellerTermsWrite:
    """Side write of a Reseller save: refuse a currency/zone change once calls exist, then upsert."""

    reseller_id: str
    currency: str
    time_zone: str
    terms_changed: bool

    def run(self, sql: Sql) -> None:
        sql.lock_resellers([self.reseller_id])
        if self.terms_changed:
            sql.execute("SELECT 1 FROM billing_calls WHERE reseller_id = ? LIMIT 1", (self.reseller_id,))
            if sql.fetchall():
                raise FailedPrecondition("currency and time_zone cannot change once the reseller has calls")
        sql.execute("INSERT INTO billing_resellers (reseller_id, currency, time_zone) VALUES (?,?,?) "
                    "ON CONFLICT (reseller_id) DO UPDATE SET currency = excluded.currency, "
                    "time_zone = excluded.time_zone", (self.reseller_id, self.currency, self.time_zone))
