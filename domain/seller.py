"""The operator's own details printed as the seller on every document (SPEC §7)."""
from dataclasses import asdict, dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.reseller import NAMESPACE
from domain.text import check_party, check_text

MAX_BANK_DETAILS = 1000


@dataclass(frozen=True)
class SellerDetails:
    """The operator's own details as printed on invoices; validated by `parse`."""

    name: str = ""
    address_lines: tuple[str, ...] = ()
    tax_id: str = ""
    email: str = ""
    bank_details: str = ""

    @classmethod
    def parse(cls, *, name: str, address_lines=(), tax_id: str = "", email: str = "",
              bank_details: str = "") -> "SellerDetails":
        check_party(name, address_lines, tax_id, email)
        bank_details = check_text("bank_details", bank_details.replace("\r\n", "\n"), MAX_BANK_DETAILS,
                                  multiline=True)
        return cls(name, tuple(address_lines), tax_id, email, bank_details)

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
    def _update(self, name: str, address_lines: list, tax_id: str, email: str, bank_details: str) -> None:
        self.details = SellerDetails(name, tuple(address_lines), tax_id, email, bank_details)

    def update(self, details: SellerDetails) -> bool:
        """Record `details`; False (and no event) when nothing changed."""
        if details == self.details:
            return False
        self._update(**details.as_dict())
        return True


SELLER_ID = uuid5(NAMESPACE, "seller")
register_topic("domain.templates:Seller", Seller)  # the first release's topic (SPEC Part II)
