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
