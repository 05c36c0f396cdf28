"""Protobuf messages ↔ template, seller and PDF objects (kept apart from converters.py)."""
from billing.v1 import template_pb2, types_pb2
from domain.seller import PART_TWO_FIELDS, SellerDetails
from service.usecases.rendering import RenderedPdf
from service.usecases.templates import TemplateView


def template_to_proto(view: TemplateView) -> template_pb2.Template:
    return template_pb2.Template(version=view.version, name=view.name, source=view.source,
                                 is_default=view.is_default, has_logo=view.has_logo, position=view.position)


def seller_from_proto(s: template_pb2.Seller) -> tuple[dict, dict]:
    """(the first release's fields, the Part II fields present in the message)."""
    base = dict(name=s.name, address_lines=list(s.address_lines), tax_id=s.tax_id, email=s.email,
                bank_details=s.bank_details)
    return base, {name: getattr(s, name) for name in PART_TWO_FIELDS if s.HasField(name)}


def seller_to_proto(details: SellerDetails, position: int) -> template_pb2.Seller:
    return template_pb2.Seller(name=details.name, address_lines=list(details.address_lines),
                               tax_id=details.tax_id, email=details.email, bank_details=details.bank_details,
                               position=position, country_code=details.country_code,
                               postal_code=details.postal_code, city=details.city, iban=details.iban, bic=details.bic)


def pdf_to_proto(pdf: RenderedPdf) -> types_pb2.Pdf:
    return types_pb2.Pdf(content=pdf.content, sha256=pdf.sha256, template_version=pdf.template_version)
