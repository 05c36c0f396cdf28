"""The one tree of domain errors; service/grpc/errors.py maps each class to a gRPC status."""


class BillingError(Exception):
    """Base of every rule violation the domain reports."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(BillingError):
    """Malformed input. `field` names the offending request field (dotted path)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message


class TemplateSyntaxError(InvalidArgument):
    """A template source that cannot be accepted; carries the 1-based line and column."""

    def __init__(self, line: int, column: int, message: str, field: str = "source"):
        super().__init__(field, f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


class NotFound(BillingError):
    """An id in the request names nothing stored."""


class FailedPrecondition(BillingError):
    """The request is well-formed but the current state forbids it. `violations` lists
    (subject, description) pairs when several stored fields are missing (google.rpc.PreconditionFailure)."""

    def __init__(self, message: str, violations: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.violations = tuple(violations)


class AlreadyExists(BillingError):
    """An idempotency key or natural key is taken by something different."""


class Conflict(BillingError):
    """A concurrent writer won; the application retries before this reaches a client."""
