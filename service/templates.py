"""TemplateBook: the template catalogue, the seller, previews and invoice PDFs (SPEC §5, §7).

Seller pinning: an invoice is rendered with the seller details that were stored
BEFORE the invoice (the latest `Seller` event whose event-store position is below
the position of the invoice's `Issued` event). Positions are fixed once written,
so the same invoice always gets the same seller details: a later `UpdateSeller`
shows on new invoices only, and re-renders stay byte-identical across renders,
restarts and processes (for the same RENDERER_VERSION). No seller copy is stored
on the invoice; the event store already holds every past version.
"""
import base64
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import timezone
from uuid import UUID

from domain.invoice import Invoice
from domain.template import parse_template
from domain.templates import (BUILTIN_NAME, BUILTIN_VERSION, CATALOG_ID, SELLER_ID, Seller, SellerDetails,
                              TemplateCatalog, TemplateVersion, check_template_name, template_version_uuid)

PREVIEW_DATE = "2000-01-01T00:00:00Z"  # previews carry no wall-clock date either
CACHE_SIZE = 64
RENDER_WORKERS = 2


@dataclass(frozen=True)
class TemplateView:
    """A template version as the API shows it (`source` is "" in lists)."""

    version: int
    name: str
    source: str
    is_default: bool
    has_logo: bool
    position: int


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    sha256: str
    template_version: int


class TemplateBook:
    """Application service over BillingApplication for SPEC §7 and RenderInvoicePdf.

    Owns the server's one RenderPool, created on the first render (not at start-up) and
    stopped by `close()`, and an in-memory LRU of rendered PDFs.
    """

    def __init__(self, app, cache_size: int = CACHE_SIZE, workers: int = RENDER_WORKERS):
        self.app = app
        self._workers = workers
        self._pool = None
        self._closed = False
        self._pool_lock = threading.Lock()
        self._cache: OrderedDict[tuple, RenderedPdf] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    # ---- catalogue ------------------------------------------------------------------------
    def upload(self, name: str, source: str, logo: bytes, make_default: bool) -> TemplateView:
        """Validate everything first (nothing is stored on any error), then append a version."""
        from service.render.logo import check_logo

        check_template_name(name)
        parse_template(source)
        if logo:
            check_logo(logo)
        encoded = _b64(logo)

        def attempt():
            catalog = self._catalog()
            version = catalog.add(name, bool(logo), make_default)
            stored = TemplateVersion(version=version, name=name, source=source, logo=encoded)
            position = self.app.save_all(catalog, stored)
            return TemplateView(version, name, source, catalog.default_version == version, bool(logo), position)
        return self.app.retrying(attempt)

    def get(self, version: int) -> TemplateView:
        catalog = self._catalog()
        catalog.require(version)
        if version == BUILTIN_VERSION:
            from service.render import BUILTIN_TEMPLATE_SOURCE
            return TemplateView(0, BUILTIN_NAME, BUILTIN_TEMPLATE_SOURCE, catalog.default_version == 0, False, 0)
        stored = self._version(version)
        return TemplateView(version, stored.name, stored.source, catalog.default_version == version,
                            bool(stored.logo), self.app.position_of(stored.id))

    def list(self, after: int, limit: int) -> tuple[list[TemplateView], bool]:
        """Versions above `after` in ascending order (0 = built-in first); (page, more follow)."""
        catalog = self._catalog()
        versions = range(max(after + 1, 0), catalog.latest + 1)
        return [self._summary(catalog, v) for v in versions[:limit]], len(versions) > limit

    def set_default(self, version: int) -> TemplateView:
        def attempt():
            catalog = self.app.load_or_none(CATALOG_ID)
            if catalog is None:  # nothing uploaded yet: only the built-in exists and is the default
                return self.get(version)
            catalog.set_default(version)
            position = self.app.save_all(catalog)  # no event when unchanged: the catalogue's position
            return replace(self.get(version), position=position)
        return self.app.retrying(attempt)

    # ---- seller ---------------------------------------------------------------------------
    def seller(self) -> tuple[SellerDetails, int]:
        seller = self.app.load_or_none(SELLER_ID)
        return (seller.details, self.app.position_of(SELLER_ID)) if seller else (SellerDetails(), 0)

    def update_seller(self, details: SellerDetails) -> tuple[SellerDetails, int]:
        def attempt():
            seller = self.app.load_or_none(SELLER_ID) or Seller()
            seller.update(details)
            return seller.details, self.app.save_all(seller)
        return self.app.retrying(attempt)

    # ---- PDFs -----------------------------------------------------------------------------
    def preview_source(self, source: str) -> RenderedPdf:
        """Every placeholder shown literally; a bad source is INVALID_ARGUMENT (line, column)."""
        from service.render import RenderJob

        parse_template(source)
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        return self._render(None, lambda: RenderJob(source, None, None, PREVIEW_DATE, f"preview:{digest}"),
                            BUILTIN_VERSION)

    def preview_version(self, version: int) -> RenderedPdf:
        from service.render import RENDERER_VERSION, RenderJob

        self._catalog().require(version)

        def job():
            source, logo = self._source_and_logo(version)
            return RenderJob(source, logo, None, PREVIEW_DATE, f"preview:{version}")
        return self._render(("preview", version, RENDERER_VERSION), job, version)

    def render_invoice(self, invoice_id: UUID) -> RenderedPdf:
        """The invoice with its pinned template version and the seller stored before it."""
        from service.render import RENDERER_VERSION, RenderJob

        invoice = self.app.get_invoice(invoice_id)
        version = invoice.template_version
        issued = invoice.issued_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

        def job():
            source, logo = self._source_and_logo(version)
            data = invoice_data(invoice, self._seller_before(invoice_id))
            return RenderJob(source, logo, data, issued, f"{invoice_id}:{version}")
        # The status is part of the key: {{ invoice.status }} reads VOID once voided.
        return self._render((str(invoice_id), version, invoice.status, RENDERER_VERSION), job, version)

    def close(self) -> None:
        """Stop the render workers (idempotent); later renders fail with RenderFailed."""
        with self._pool_lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is not None:
            pool.close()

    # ---- internals ------------------------------------------------------------------------
    def _catalog(self) -> TemplateCatalog:
        return self.app.load_or_none(CATALOG_ID) or TemplateCatalog()

    def _version(self, version: int) -> TemplateVersion:
        return self.app.load(template_version_uuid(version), f"template version {version}")

    def _summary(self, catalog: TemplateCatalog, version: int) -> TemplateView:
        entry = catalog.entry(version)
        position = self.app.position_of(template_version_uuid(version)) if version else 0
        return TemplateView(version, entry["name"], "", catalog.default_version == version,
                            bool(entry["has_logo"]), position)

    def _source_and_logo(self, version: int) -> tuple[str, bytes | None]:
        if version == BUILTIN_VERSION:
            from service.render import BUILTIN_TEMPLATE_SOURCE
            return BUILTIN_TEMPLATE_SOURCE, None
        stored = self._version(version)
        return stored.source, stored.logo_bytes

    def _seller_before(self, invoice_id: UUID) -> SellerDetails:
        """The seller as of the invoice's Issued event, by event-store position (see module doc)."""
        table, postgres = self.app.recorder.events_table_name, self.app.backend.postgres
        pos = "notification_id" if postgres else "rowid"
        ids = (SELLER_ID, invoice_id) if postgres else (SELLER_ID.hex, invoice_id.hex)
        with self.app.backend.transaction(write=False) as sql:
            sql.execute(f"SELECT MAX(s.originator_version) FROM {table} s JOIN {table} i "
                        f"ON i.originator_id = ? AND i.originator_version = 1 AND s.{pos} < i.{pos} "
                        "WHERE s.originator_id = ?", (ids[1], ids[0]))
            version = sql.fetchall()[0][0]
        if not version:
            return SellerDetails()
        return self.app.load(SELLER_ID, "seller", version=int(version)).details

    def _render(self, key: tuple | None, make_job, version: int) -> RenderedPdf:
        cached = self._cached(key)
        if cached is not None:
            return cached
        from service.render import RenderFailed

        try:
            content = self._render_pool().render(make_job())
        except RenderFailed as error:
            raise RenderFailed(f"PDF rendering failed: {error}") from None
        pdf = RenderedPdf(content, hashlib.sha256(content).hexdigest(), version)
        if key is not None:
            with self._cache_lock:
                self._cache[key] = pdf
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return pdf

    def _cached(self, key: tuple | None) -> RenderedPdf | None:
        if key is None:
            return None
        with self._cache_lock:
            pdf = self._cache.get(key)
            if pdf is not None:
                self._cache.move_to_end(key)
            return pdf

    def _render_pool(self):
        from service.render import RenderFailed, RenderPool

        with self._pool_lock:
            if self._closed:
                raise RenderFailed("the server is stopping; no renders are accepted")
            if self._pool is None:
                self._pool = RenderPool(max_workers=self._workers)
            return self._pool


def invoice_data(invoice: Invoice, seller: SellerDetails) -> dict:
    """The renderer's data dict: only primitives from the stored invoice and the pinned seller."""
    bill_to = invoice.bill_to
    return {
        "invoice": {"number": invoice.number, "issue_date": invoice.issue_date,
                    "period_start": invoice.period["start"], "period_end": invoice.period["end"],
                    "currency": invoice.currency, "subtotal": invoice.subtotal, "tax_rate": invoice.tax_rate,
                    "tax": invoice.tax, "total": invoice.total, "status": invoice.status},
        "bill_to": {"name": bill_to.get("name", ""), "address_lines": list(bill_to.get("address_lines", ())),
                    "tax_id": bill_to.get("tax_id", ""), "email": bill_to.get("email", "")},
        "seller": seller.as_dict(),
        "lines": [dict(line) for line in invoice.lines],
    }


def _b64(logo: bytes) -> str:
    return base64.b64encode(logo).decode("ascii") if logo else ""
