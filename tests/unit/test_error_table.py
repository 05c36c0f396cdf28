"""Every domain error class has a gRPC status in the one table."""
import grpc

from domain import errors
from service.grpc.errors import STATUS_OF, status_for


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_domain_error_class_has_its_own_entry():
    domain_classes = [c for c in vars(errors).values()
                      if isinstance(c, type) and issubclass(c, errors.BillingError)]
    assert [c.__name__ for c in domain_classes if c not in STATUS_OF] == []


def test_every_error_class_anywhere_maps_to_a_status():
    classes = [errors.BillingError, *all_subclasses(errors.BillingError)]
    assert [c.__name__ for c in classes if not any(b in STATUS_OF for b in c.__mro__)] == []


def test_invalid_argument_carries_a_bad_request_naming_the_field():
    status = status_for(errors.InvalidArgument("period.end_date", "before start"))
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert b"period.end_date" in status.details[0].value


def test_statuses_are_the_documented_ones():
    assert STATUS_OF[errors.NotFound][0] == grpc.StatusCode.NOT_FOUND
    assert STATUS_OF[errors.FailedPrecondition][0] == grpc.StatusCode.FAILED_PRECONDITION
    assert STATUS_OF[errors.AlreadyExists][0] == grpc.StatusCode.ALREADY_EXISTS
