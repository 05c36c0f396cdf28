"""The Reseller aggregate and the validation of its terms (SPEC §3)."""
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.countries import is_country
from domain.errors import InvalidArgument
from domain.money import is_currency, parse_decimal
from domain.numbering import CREDIT_NOTES, INVOICES, validate_series_id
from domain.text import MAX_ID, MAX_TEXT, check_party, check_text

from domain.ids import NAMESPACE  # noqa: E402,F401  (re-exported)
MAX_POSTAL_CODE = 32
HOST_ZONES = frozenset({"localtime", "posixrules", "Factory"})  # mean whatever the host says: not a reseller's zone
MAX_TERMS_DAYS = 365
DEFAULT_TERMS_DAYS = 30


class VatCategory:
    STANDARD = "STANDARD"
    REVERSE_CHARGE = "REVERSE_CHARGE"  # rate 0; documents say "Reverse charge" (EN 16931 category AE)


# The fields added in Part II (SPEC §3): on an upsert, an absent one keeps its stored value.
PART_TWO_FIELDS = ("country_code", "postal_code", "city", "vat_category", "payment_terms_days",
                   "invoice_series_id", "credit_note_series_id")


def valid_time_zone(zone: str) -> bool:
    if not zone or len(zone) > 64 or zone.startswith(("/", ".")) or ".." in zone or zone in HOST_ZONES:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tzdata directory, e.g. "Europe"
        return False
    return True


@dataclass(frozen=True)
class ResellerTerms:
    """Everything a reseller record holds; validated on construction via `parse`."""

    reseller_id: str
    name: str
    currency: str
    time_zone: str
    tax_rate: str
    address_lines: tuple[str, ...] = field(default_factory=tuple)
    tax_id: str = ""
    email: str = ""
    country_code: str = ""  # ISO 3166-1 alpha-2; "" = not given
    postal_code: str = ""
    city: str = ""
    vat_category: str = VatCategory.STANDARD
    payment_terms_days: int = DEFAULT_TERMS_DAYS
    invoice_series_id: str = ""  # "" = the built-in series of the kind
    credit_note_series_id: str = ""

    @classmethod
    def parse(cls, *, reseller_id: str, name: str, currency: str, time_zone: str, tax_rate: str,
              address_lines=(), tax_id: str = "", email: str = "", country_code: str = "", postal_code: str = "",
              city: str = "", vat_category: str = VatCategory.STANDARD,
              payment_terms_days: int = DEFAULT_TERMS_DAYS, invoice_series_id: str = "",
              credit_note_series_id: str = "") -> "ResellerTerms":
        check_text("reseller_id", reseller_id, MAX_ID, required=True)
        if not reseller_id.isprintable():  # the ledger names resellers of calls by printable ids only
            raise InvalidArgument("reseller_id", "contains characters that are not printable (e.g. NBSP, DEL)")
        check_party(name, address_lines, tax_id, email)
        if not is_currency(currency):
            raise InvalidArgument("currency", f"not an ISO 4217 currency code: {currency[:10]!r}")
        if not valid_time_zone(time_zone):
            raise InvalidArgument("time_zone", f"not an IANA time zone: {time_zone[:64]!r}")
        rate = parse_decimal("tax_rate", tax_rate) + 0  # + 0: "-0" is stored as "0"
        if not Decimal(0) <= rate < Decimal(1):
            raise InvalidArgument("tax_rate", "must satisfy 0 <= rate < 1")
        if country_code and not is_country(country_code):
            raise InvalidArgument("country_code", f"not an ISO 3166-1 alpha-2 country code: {country_code[:8]!r}")
        check_text("postal_code", postal_code, MAX_POSTAL_CODE)
        check_text("city", city, MAX_TEXT)
        if vat_category not in (VatCategory.STANDARD, VatCategory.REVERSE_CHARGE):
            raise InvalidArgument("vat_category", f"unknown VAT category {vat_category!r}")
        if vat_category == VatCategory.REVERSE_CHARGE and rate != 0:
            raise InvalidArgument("tax_rate", "must be 0 under reverse charge (the buyer accounts for the VAT)")
        if not 0 <= payment_terms_days <= MAX_TERMS_DAYS:
            raise InvalidArgument("payment_terms_days", f"must be between 0 and {MAX_TERMS_DAYS}")
        for field_name, series in (("invoice_series_id", invoice_series_id),
                                   ("credit_note_series_id", credit_note_series_id)):
            if series:
                validate_series_id(series, field_name)
        # The built-in series is stored as "" (its default): reads resolve it either way.
        invoice_series_id = "" if invoice_series_id == INVOICES else invoice_series_id
        credit_note_series_id = "" if credit_note_series_id == CREDIT_NOTES else credit_note_series_id
        return cls(reseller_id, name, currency, time_zone, f"{rate:f}", tuple(address_lines), tax_id, email,
                   country_code, postal_code, city, vat_category, int(payment_terms_days), invoice_series_id,
                   credit_note_series_id)

    def part_two(self) -> dict:
        """The Part II fields, for merging an upsert that left some of them out."""
        return {name: getattr(self, name) for name in PART_TWO_FIELDS}

    def as_dict(self) -> dict:
        """Every field (address lines as a list); a shallow copy: no field holds a nested dataclass, and
        `dataclasses.asdict`'s recursion was ~4 % of a CreateInvoice."""
        d = dict(self.__dict__)
        d["address_lines"] = list(self.address_lines)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ResellerTerms":
        return cls(**{**d, "address_lines": tuple(d.get("address_lines", ()))})


class Reseller(Aggregate):
    """A reseller; its id is derived from the operator's reseller_id, so it is unique."""

    @staticmethod
    def create_id(reseller_id: str) -> UUID:
        return reseller_uuid(reseller_id)

    @event("Registered")
    def __init__(self, reseller_id: str, terms: dict):
        self.reseller_id = reseller_id
        self.terms = ResellerTerms.from_dict(terms)

    @event("Changed")
    def change(self, terms: dict) -> None:
        self.terms = ResellerTerms.from_dict(terms)

    def billing_terms_differ(self, new: ResellerTerms) -> bool:
        return (new.currency, new.time_zone) != (self.terms.currency, self.terms.time_zone)


def reseller_uuid(reseller_id: str) -> UUID:
    return uuid5(NAMESPACE, "reseller:" + reseller_id)
