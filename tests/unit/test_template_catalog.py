"""The template catalogue and seller aggregates (domain/template_catalog.py, domain/seller.py), without storage."""
import pytest

from domain.errors import InvalidArgument, NotFound
from domain.seller import Seller, SellerDetails
from domain.template_catalog import (CATALOG_ID, TemplateCatalog, TemplateVersion, check_template_name,
                                     template_version_uuid)


def test_versions_count_from_one_and_the_built_in_stays_default_until_changed():
    catalog = TemplateCatalog()
    assert catalog.id == CATALOG_ID and catalog.default_version == 0
    assert [catalog.add("a", False, False), catalog.add("b", True, False)] == [1, 2]
    assert catalog.default_version == 0 and catalog.entry(2) == {"name": "b", "has_logo": True}
    assert catalog.add("c", False, True) == 3 and catalog.default_version == 3


def test_set_default_accepts_zero_refuses_unknown_and_records_only_changes():
    catalog = TemplateCatalog()
    catalog.add("a", False, True)
    pending = len(catalog.collect_events())
    assert catalog.set_default(0) is True and catalog.set_default(0) is False
    assert len(catalog.collect_events()) == 1 and pending == 3
    with pytest.raises(NotFound):
        catalog.set_default(2)
    with pytest.raises(NotFound):
        catalog.entry(-1)


def test_template_version_id_is_derived_from_its_number_and_logo_round_trips():
    stored = TemplateVersion(version=4, name="n", source="s", logo="iVBORw==")
    assert stored.id == template_version_uuid(4) and stored.logo_bytes == b"\x89PNG"
    assert TemplateVersion(version=5, name="n", source="s", logo="").logo_bytes is None


def test_template_name_is_one_to_256_characters():
    check_template_name("x" * 256)
    for bad in ("", "  ", "x" * 257, "tab\there"):
        with pytest.raises(InvalidArgument):
            check_template_name(bad)


def test_seller_details_are_validated_and_unchanged_details_record_nothing():
    details = SellerDetails.parse(name="Op AG", address_lines=["Zürich"], bank_details="IBAN\r\nBIC")
    assert details.bank_details == "IBAN\nBIC"
    seller = Seller()
    assert seller.update(details) is True and seller.update(details) is False
    assert seller.details == details and len(seller.collect_events()) == 2
    for kwargs, field in (({"name": ""}, "name"), ({"name": "n", "address_lines": ["l"] * 11}, "address_lines"),
                          ({"name": "n", "tax_id": "t" * 65}, "tax_id"), ({"name": "n", "email": "\x00"}, "email"),
                          ({"name": "n", "bank_details": "b" * 1001}, "bank_details")):
        with pytest.raises(InvalidArgument) as error:
            SellerDetails.parse(**kwargs)
        assert error.value.field == field


def test_first_release_topics_resolve_to_the_moved_classes():
    from eventsourcing.utils import resolve_topic
    assert resolve_topic("domain.templates:TemplateCatalog.VersionAdded") is TemplateCatalog.VersionAdded
    assert resolve_topic("domain.templates:TemplateVersion.Uploaded") is TemplateVersion.Uploaded
    assert resolve_topic("domain.templates:Seller.Updated") is Seller.Updated
