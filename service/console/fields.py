"""Form fields of resellers and the seller, shown only when this release's message has them.

One table per message: adding a field to the form is one line here. Values move between the
message and the form as strings: repeated strings as one line each, enums by value name,
proto3 `optional` numbers left unset when the input is empty (the server keeps its value).
"""
from dataclasses import dataclass

from google.protobuf.descriptor import FieldDescriptor

from service.console.formats import FormError, lines_of


@dataclass(frozen=True)
class Spec:
    name: str
    label: str
    kind: str = "text"  # text | lines | textarea | email | number | enum | series (a numbering series id)
    required: bool = False
    hint: str = ""


RESELLER = (
    Spec("reseller_id", "Reseller ID", required=True, hint="Stable id, cannot be changed later"),
    Spec("name", "Name", required=True),
    Spec("address_lines", "Address", "lines", hint="One line per address line"),
    Spec("postal_code", "Postal code"), Spec("city", "City"),
    Spec("country_code", "Country code", hint="ISO 3166-1 alpha-2, e.g. DE"),
    Spec("tax_id", "Tax ID"), Spec("email", "E-mail", "email"),
    Spec("currency", "Currency", required=True, hint="ISO 4217, e.g. EUR"),
    Spec("time_zone", "Time zone", required=True, hint="IANA zone, e.g. Europe/Berlin or UTC"),
    Spec("tax_rate", "Tax rate", required=True, hint="Decimal, e.g. 0.19"),
    Spec("vat_category", "VAT category", "enum"),
    Spec("payment_terms_days", "Payment terms (days)", "number", hint="0–365; empty keeps the current value"),
    Spec("invoice_series_id", "Invoice series", "series", hint="Numbers this reseller's invoices"),
    Spec("credit_note_series_id", "Credit note series", "series", hint="Numbers this reseller's credit notes"),
)

SELLER = (
    Spec("name", "Name", required=True), Spec("address_lines", "Address", "lines", hint="One line per address line"),
    Spec("postal_code", "Postal code"), Spec("city", "City"),
    Spec("country_code", "Country code", hint="ISO 3166-1 alpha-2, e.g. DE"),
    Spec("tax_id", "Tax ID"), Spec("email", "E-mail", "email"),
    Spec("bank_details", "Bank details", "textarea"), Spec("iban", "IBAN"), Spec("bic", "BIC"),
)


def present(specs, message_class) -> list[Spec]:
    """The specs whose field exists on `message_class` in this release."""
    names = message_class.DESCRIPTOR.fields_by_name
    return [s for s in specs if s.name in names]


SERIES_KIND = {"invoice_series_id": "DOCUMENT_KIND_INVOICE", "credit_note_series_id": "DOCUMENT_KIND_CREDIT_NOTE"}


def series_options(series: list, spec: Spec, current: str) -> list[tuple[str, str]]:
    """(series_id, label) of the series of the kind `spec` chooses; the current value stays choosable."""
    options = [(s.series_id, f"{s.series_id} ({s.pattern})") for s in series
               if s.DESCRIPTOR.fields_by_name["kind"].enum_type.values_by_number[s.kind].name == SERIES_KIND[spec.name]]
    if current and current not in {value for value, _ in options}:
        options.append((current, current))
    return options


def enum_options(message_class, spec: Spec) -> list[tuple[str, str]]:
    """(value name, label) of an enum field, without the UNSPECIFIED value."""
    enum = message_class.DESCRIPTOR.fields_by_name[spec.name].enum_type
    prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return [(v.name, v.name.removeprefix(prefix).replace("_", " ").capitalize()) for v in enum.values if v.number]


def to_form(message, specs) -> dict[str, str]:
    """The message's values as the form shows them."""
    values = {}
    for spec in present(specs, type(message)):
        fd = message.DESCRIPTOR.fields_by_name[spec.name]
        value = getattr(message, spec.name)
        if spec.kind == "lines":
            values[spec.name] = "\n".join(value)
        elif spec.kind == "enum":
            values[spec.name] = fd.enum_type.values_by_number[value].name if value else ""
        elif fd.has_presence and fd.type != FieldDescriptor.TYPE_MESSAGE and not message.HasField(spec.name):
            values[spec.name] = ""
        else:
            values[spec.name] = str(value)
    return values


def from_form(form: dict, specs, message_class):
    """A message built from the typed values; raises FormError for a value of the wrong shape."""
    message = message_class()
    for spec in present(specs, message_class):
        text = form.get(spec.name, "")
        text = text if isinstance(text, str) else text[-1]
        fd = message_class.DESCRIPTOR.fields_by_name[spec.name]
        if spec.kind == "lines":
            getattr(message, spec.name).extend(lines_of(text))
        elif spec.kind == "enum":
            if text.strip():
                value = fd.enum_type.values_by_name.get(text.strip())
                if value is None:
                    raise FormError(spec.name, f"{spec.label}: unknown choice")
                setattr(message, spec.name, value.number)
        elif spec.kind == "number":
            if text.strip():
                if not text.strip().isdigit():
                    raise FormError(spec.name, f"{spec.label}: enter a whole number")
                setattr(message, spec.name, int(text.strip()))
        elif spec.kind == "textarea":
            setattr(message, spec.name, text.replace("\r\n", "\n").strip())
        else:
            setattr(message, spec.name, text.strip())
    return message


def display(message, spec: Spec) -> str:
    """A field's value for a read-only page."""
    value = getattr(message, spec.name)
    if spec.kind == "lines":
        return "\n".join(value)
    if spec.kind == "enum":
        return dict(enum_options(type(message), spec)).get(
            message.DESCRIPTOR.fields_by_name[spec.name].enum_type.values_by_number[value].name, "") if value else ""
    return str(value)


def field_errors(error_fields: dict[str, str], specs) -> dict[str, str]:
    """Server field paths (e.g. 'tax_rate', 'reseller.tax_rate') → the form's input names."""
    names = {s.name for s in specs}
    found = {}
    for path, description in error_fields.items():
        leaf = path.split(".")[-1].split("[")[0]
        if leaf in names:
            found[leaf] = description
    return found
