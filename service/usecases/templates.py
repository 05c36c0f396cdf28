"""Template versions, the default, and the seller details (SPEC §7).

Seller pinning: a document is rendered with the seller details stored BEFORE it (the
latest `Seller` event whose event-store position is below the document's first event).
Positions are fixed once written, so the same document always gets the same seller: a
later `UpdateSeller` shows on new documents only, and re-renders stay byte-identical.
"""
import base64
from dataclasses import dataclass, replace
from uuid import UUID

from domain.seller import SELLER_ID, Seller, SellerDetails
from domain.template_catalog import (BUILTIN_NAME, BUILTIN_VERSION, CATALOG_ID, TemplateCatalog, TemplateVersion,
                                     check_template_name, template_version_uuid)
from domain.template_language import parse_template
from service.event_store import EventStore
from service.render.job import BUILTIN_REVISION, builtin_template_source
from service.render.logo import check_logo
from service.retry import retrying


@dataclass(frozen=True)
class TemplateView:
    """A template version as the API shows it (`source` is "" in lists)."""

    version: int
    name: str
    source: str
    is_default: bool
    has_logo: bool
    position: int


class Templates:
    def __init__(self, store: EventStore):
        self.store = store

    # ---- catalogue ------------------------------------------------------------------------
    def upload(self, name: str, source: str, logo: bytes, make_default: bool) -> TemplateView:
        """Validate everything first (nothing is stored on any error), then append a version."""
        check_template_name(name)
        parse_template(source)
        if logo:
            check_logo(logo)
        encoded = base64.b64encode(logo).decode("ascii") if logo else ""

        def attempt():
            catalog = self._catalog()
            version = catalog.add(name, bool(logo), make_default)
            stored = TemplateVersion(version=version, name=name, source=source, logo=encoded)
            position = self.store.save_all(catalog, stored)
            return TemplateView(version, name, source, catalog.default_version == version, bool(logo), position)
        return retrying(attempt)

    def get(self, version: int) -> TemplateView:
        catalog = self._catalog()
        catalog.require(version)
        if version == BUILTIN_VERSION:
            return TemplateView(0, BUILTIN_NAME, builtin_template_source(BUILTIN_REVISION), catalog.default_version == 0,
                                False, 0)
        stored = self._version(version)
        return TemplateView(version, stored.name, stored.source, catalog.default_version == version,
                            bool(stored.logo), self.store.positions.of(stored.id))

    def page(self, after: int, limit: int) -> tuple[list[TemplateView], bool]:
        """Versions above `after` in ascending order (0 = built-in first); (page, more follow)."""
        catalog = self._catalog()
        versions = range(max(after + 1, 0), catalog.latest + 1)
        return [self._summary(catalog, v) for v in versions[:limit]], len(versions) > limit

    def set_default(self, version: int) -> TemplateView:
        def attempt():
            catalog = self.store.load_or_none(CATALOG_ID)
            if catalog is None:  # nothing uploaded yet: only the built-in exists and is the default
                return self.get(version)
            catalog.set_default(version)
            position = self.store.save_all(catalog)  # no event when unchanged: the catalogue's position
            return replace(self.get(version), position=position)
        return retrying(attempt)

    def default_version(self) -> int:
        """The catalogue's default (0 = built-in); pinned on each new document."""
        catalog = self.store.read(CATALOG_ID)
        return catalog.default_version if catalog is not None else BUILTIN_VERSION

    def require(self, version: int) -> None:
        self._catalog().require(version)

    def source_and_logo(self, version: int, builtin_revision: int = BUILTIN_REVISION) -> tuple[str, bytes | None]:
        """A version's source and logo; version 0 in the built-in revision the document pinned."""
        if version == BUILTIN_VERSION:
            return builtin_template_source(builtin_revision), None
        stored = self._version(version)
        return stored.source, stored.logo_bytes

    # ---- seller ---------------------------------------------------------------------------
    def seller(self) -> tuple[SellerDetails, int]:
        seller = self.store.load_or_none(SELLER_ID)
        return (seller.details, self.store.positions.of(SELLER_ID)) if seller else (SellerDetails(), 0)

    def update_seller_fields(self, base: dict, present: dict) -> tuple[SellerDetails, int]:
        """UpdateSeller: the Part II fields left out keep their stored values."""
        stored, _ = self.seller()
        return self.update_seller(SellerDetails.parse(**base, **{**stored.part_two(), **present}))

    def update_seller(self, details: SellerDetails) -> tuple[SellerDetails, int]:
        def attempt():
            seller = self.store.load_or_none(SELLER_ID) or Seller()
            seller.update(details)
            return seller.details, self.store.save_all(seller)
        return retrying(attempt)

    def seller_before(self, document_id: UUID) -> SellerDetails:
        """The seller as of the document's first event, by event-store position (see module doc)."""
        version = self.store.positions.version_before(SELLER_ID, document_id)
        if not version:
            return SellerDetails()
        return self.store.load(SELLER_ID, "seller", version=version).details

    # ---- internals ------------------------------------------------------------------------
    def _catalog(self) -> TemplateCatalog:
        return self.store.load_or_none(CATALOG_ID) or TemplateCatalog()

    def _version(self, version: int) -> TemplateVersion:
        return self.store.load(template_version_uuid(version), f"template version {version}")

    def _summary(self, catalog: TemplateCatalog, version: int) -> TemplateView:
        entry = catalog.entry(version)
        position = self.store.positions.of(template_version_uuid(version)) if version else 0
        return TemplateView(version, entry["name"], "", catalog.default_version == version,
                            bool(entry["has_logo"]), position)
