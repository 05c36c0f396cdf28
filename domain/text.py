"""The one check for operator-supplied text: required, bounded, no control characters."""
from domain.errors import InvalidArgument


def check_text(field: str, value: str, limit: int, required: bool = False, multiline: bool = False) -> str:
    """`value` unchanged, or INVALID_ARGUMENT naming `field` (NUL and other C0 controls are
    refused everywhere: PostgreSQL text cannot hold NUL, and no id or name needs them)."""
    if required and not value.strip():
        raise InvalidArgument(field, "is required")
    if len(value) > limit:
        raise InvalidArgument(field, f"longer than {limit} characters")
    allowed = {"\n"} if multiline else set()
    if any(ord(ch) < 32 and ch not in allowed for ch in value):
        raise InvalidArgument(field, "contains control characters")
    return value


MAX_ID = 128  # every operator-chosen id (reseller, call, series …) and invoice numbers looked up
MAX_TEXT = 256
MAX_ADDRESS_LINES = 10
MAX_TAX_ID = 64


def check_party(name: str, address_lines, tax_id: str, email: str) -> None:
    """A name-and-address block as printed on invoices (a reseller's or the seller's own)."""
    check_text("name", name, MAX_TEXT, required=True)
    if len(address_lines) > MAX_ADDRESS_LINES:
        raise InvalidArgument("address_lines", f"at most {MAX_ADDRESS_LINES} lines")
    for i, line in enumerate(address_lines):
        check_text(f"address_lines[{i}]", line, MAX_TEXT)
    check_text("tax_id", tax_id, MAX_TAX_ID)
    check_text("email", email, MAX_TEXT)
