"""PDFs (SPEC §5, §7): invoices with their pinned template version and seller, and previews.

Rendering runs in worker processes (service/render/pool.py); the pool is built by the
composition root's factory, by `start_pool()` at start-up (`billing serve`: the workers boot
in the background, so the first request finds them warm) or else on the first render, and
stopped by `close()`. Rendered PDFs are deterministic, so they are cached by (document,
template version, status, renderer version).
"""
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timezone
from typing import Callable

from domain.credit_note import CreditNote
from domain.invoice import Invoice
from domain.template_catalog import BUILTIN_VERSION
from domain.template_language import parse_template
from service.event_store import EventStore
from service.render.job import RENDERER_VERSION, RenderFailed, RenderJob
from service.usecases.document_data import credit_note_data, invoice_data
from service.usecases.templates import Templates

PREVIEW_DATE = "2000-01-01T00:00:00Z"  # previews carry no wall-clock date either
CACHE_SIZE = 64


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    sha256: str
    template_version: int


class Rendering:
    def __init__(self, store: EventStore, templates: Templates, pool_factory: Callable[[], object],
                 cache_size: int = CACHE_SIZE):
        self.store = store
        self.templates = templates
        self._pool_factory = pool_factory
        self._pool = None
        self._closed = False
        self._pool_lock = threading.Lock()
        self._cache: OrderedDict[tuple, RenderedPdf] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def preview_source(self, source: str) -> RenderedPdf:
        """Every placeholder shown literally; a bad source is INVALID_ARGUMENT (line, column)."""
        parse_template(source)
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        return self._render(None, lambda: RenderJob(source, None, None, PREVIEW_DATE, f"preview:{digest}"),
                            BUILTIN_VERSION)

    def preview_version(self, version: int) -> RenderedPdf:
        self.templates.require(version)

        def job():
            source, logo = self.templates.source_and_logo(version)
            return RenderJob(source, logo, None, PREVIEW_DATE, f"preview:{version}")
        return self._render(("preview", version, RENDERER_VERSION), job, version)

    def render_invoice(self, invoice: Invoice) -> RenderedPdf:
        """The invoice with its pinned template version and the seller stored before it."""
        # The status is part of the key: {{ invoice.status }} reads VOID once voided.
        return self._render_document(invoice, invoice_data, invoice.status)

    def render_credit_note(self, note: CreditNote) -> RenderedPdf:
        return self._render_document(note, credit_note_data, "ISSUED")

    def _render_document(self, document, make_data, status: str) -> RenderedPdf:
        version, revision = document.template_version, document.builtin_revision
        issued = document.issued_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

        def job():
            source, logo = self.templates.source_and_logo(version, revision)
            data = make_data(document, self.templates.seller_before(document.id))
            return RenderJob(source, logo, data, issued, f"{document.id}:{version}")
        return self._render((str(document.id), version, status, RENDERER_VERSION), job, version)

    def start_pool(self) -> None:
        """Build the pool now: its workers boot and warm up in the background (this does not wait)."""
        self._render_pool()

    def wait_warm(self, timeout: float) -> bool:
        """Block until the pool's workers have booted and warmed up (False on timeout)."""
        return self._render_pool().wait_warm(timeout)

    def close(self) -> None:
        """Stop the render workers (idempotent); later renders fail with RenderFailed."""
        with self._pool_lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is not None:
            pool.close()

    def _render(self, key: tuple | None, make_job, version: int) -> RenderedPdf:
        cached = self._cached(key)
        if cached is not None:
            return cached
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
        with self._pool_lock:
            if self._closed:
                raise RenderFailed("the server is stopping; no renders are accepted")
            if self._pool is None:
                self._pool = self._pool_factory()
            return self._pool

