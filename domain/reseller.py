"""The Reseller aggregate and the validation of its terms (SPEC §3)."""
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidArgument
from domain.money import is_currency, parse_decimal
from domain.text import MAX_ID, check_party, check_text

NAMESPACE = uuid5(NAMESPACE_URL, "https://switchboard-billing/")


def valid_time_zone(zone: str) -> bool:
    if not zone or len(zone) > 64 or zone.startswith(("/", ".")) or ".." in zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
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

    @classmethod
    def parse(cls, *, reseller_id: str, name: str, currency: str, time_zone: str, tax_rate: str,
              address_lines=(), tax_id: str = "", email: str = "") -> "ResellerTerms":
        check_text("reseller_id", reseller_id, MAX_ID, required=True)
        check_party(name, address_lines, tax_id, email)
        if not is_currency(currency):
            raise InvalidArgument("currency", f"not an ISO 4217 currency code: {currency[:10]!r}")
        if not valid_time_zone(time_zone):
            raise InvalidArgument("time_zone", f"not an IANA time zone: {time_zone[:64]!r}")
        rate = parse_decimal("tax_rate", tax_rate)
        if not Decimal(0) <= rate < Decimal(1):
            raise InvalidArgument("tax_rate", "must satisfy 0 <= rate < 1")
        return cls(reseller_id, name, currency, time_zone, f"{rate:f}", tuple(address_lines), tax_id, email)

    def as_dict(self) -> dict:
        d = asdict(self)
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
