"""The operator's own details printed as the seller on every document (SPEC §7)."""
from dataclasses import asdict, dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.ids import NAMESPACE
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from domain.countries import is_country
from domain.errors import InvalidArgument
from domain.text import MAX_TEXT, check_party, check_text

MAX_BANK_DETAILS = 1000
MAX_POSTAL_CODE = 32
PART_TWO_FIELDS = ("country_code", "postal_code", "city", "iban", "bic")  # absent on UpdateSeller: kept


def _checked(field: str, value: str, scheme) -> str:
    """An IBAN or BIC in its compact form, or INVALID_ARGUMENT naming the field (python-stdnum)."""
    if not value:
        return ""
    try:
        return scheme.validate(value)
    except ValidationError as e:
        raise InvalidArgument(field, f"not a valid {field.upper()}: {e}") from None


@dataclass(frozen=True)
class SellerDetails:
    """The operator's own details as printed on invoices; validated by `parse`."""

    name: str = ""
    address_lines: tuple[str, ...] = ()
    tax_id: str = ""
    email: str = ""
    bank_details: str = ""
    country_code: str = ""  # Part II (e-invoices)
    postal_code: str = ""
    city: str = ""
    iban: str = ""  # compact form, check digits validated
    bic: str = ""

    @classmethod
    def parse(cls, *, name: str, address_lines=(), tax_id: str = "", email: str = "", bank_details: str = "",
              country_code: str = "", postal_code: str = "", city: str = "", iban: str = "",
              bic: str = "") -> "SellerDetails":
        check_party(name, address_lines, tax_id, email)
        bank_details = check_text("bank_details", bank_details.replace("\r\n", "\n"), MAX_BANK_DETAILS,
                                  multiline=True)
        if country_code and not is_country(country_code):
            raise InvalidArgument("country_code", f"not an ISO 3166-1 alpha-2 country code: {country_code[:8]!r}")
        check_text("postal_code", postal_code, MAX_POSTAL_CODE)
        check_text("city", city, MAX_TEXT)
        return cls(name, tuple(address_lines), tax_id, email, bank_details, country_code, postal_code, city,
                   _checked("iban", iban, stdnum_iban), _checked("bic", bic, stdnum_bic))

    def part_two(self) -> dict:
        return {name: getattr(self, name) for name in PART_TWO_FIELDS}

    def as_dict(self) -> dict:
        return {**asdict(self), "address_lines": list(self.address_lines)}

    @classmethod
    def from_dict(cls, d: dict) -> "SellerDetails":
        return cls(**{**d, "address_lines": tuple(d.get("address_lines", ()))})


class Seller(Aggregate):
    """The operator (one, fixed id); each change is an `Updated` event with all the details."""

    @staticmethod
    def create_id() -> UUID:
        return SELLER_ID

    @event("Created")
    def __init__(self):
        self.details = SellerDetails()

    @event("Updated")
    def _update(self, name: str, address_lines: list, tax_id: str, email: str, bank_details: str,
                country_code: str = "", postal_code: str = "", city: str = "", iban: str = "", bic: str = "") -> None:
        self.details = SellerDetails(name, tuple(address_lines), tax_id, email, bank_details, country_code,
                                     postal_code, city, iban, bic)

    def update(self, details: SellerDetails) -> bool:
        """Record `details`; False (and no event) when nothing changed."""
        if details == self.details:
            return False
        self._update(**details.as_dict())
        return True


SELLER_ID = uuid5(NAMESPACE, "seller")
register_topic("domain.templates:Seller", Seller)  # the first release's topic (SPEC Part II)
