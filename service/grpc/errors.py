"""The one place where domain errors become gRPC statuses (with google.rpc details)."""
import functools
import inspect
import logging
import uuid

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from domain import errors
from service.persistence.errors import StoreUnavailable, is_unreachable
from service.render.job import RenderFailed

log = logging.getLogger("billing.errors")

# Most specific first; every BillingError subclass must appear (tests/unit/test_error_table.py).
STATUS_OF: dict[type, tuple[grpc.StatusCode, int]] = {
    errors.TemplateSyntaxError: (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    errors.FailedPrecondition: (grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, code_pb2.ALREADY_EXISTS),
    errors.Conflict: (grpc.StatusCode.ABORTED, code_pb2.ABORTED),
    errors.BillingError: (grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    RenderFailed: (grpc.StatusCode.INTERNAL, code_pb2.INTERNAL),  # no PDF (never a partial one); says why
    StoreUnavailable: (grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),  # database down or contention > 5 s
}
KNOWN = (errors.BillingError, RenderFailed, StoreUnavailable)  # mapped by the table, with their message


def status_for(exc: errors.BillingError) -> status_pb2.Status:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            _, code = STATUS_OF[cls]
            break
    status = status_pb2.Status(code=code, message=getattr(exc, "message", None) or str(exc))
    if isinstance(exc, errors.InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=exc.field, description=exc.description)]))
        status.details.append(detail)
    if isinstance(exc, errors.FailedPrecondition) and exc.violations:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type="MISSING_DATA", subject=subject, description=text)
            for subject, text in exc.violations]))
        status.details.append(detail)
    return status


def abort_with(context: grpc.ServicerContext, exc: BaseException) -> None:
    """Abort the RPC for `exc`: domain errors by the table, anything else as INTERNAL without details."""
    if not isinstance(exc, KNOWN) and is_unreachable(exc):  # a read that met a database that is down
        exc = StoreUnavailable(f"the database cannot be reached: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    if isinstance(exc, (RenderFailed, StoreUnavailable)):
        log.error("%s: %s", type(exc).__name__, exc)
    if isinstance(exc, KNOWN):
        context.abort_with_status(rpc_status.to_status(status_for(exc)))
    incident = uuid.uuid4().hex[:12]
    log.error("internal error %s: %s: %s", incident, type(exc).__name__, str(exc)[:300], exc_info=exc)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error (incident {incident}); see server log")


def mapped(method):
    """Decorate a servicer method so every exception leaves through `abort_with`.

    Servicers never call context.abort themselves; they raise domain errors.
    """
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def stream(self, request, context):
            try:
                yield from method(self, request, context)
                return
            except Exception as exc:  # noqa: BLE001 - the edge maps everything
                failure = exc
            if context.is_active():
                abort_with(context, failure)
        return stream

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except Exception as exc:  # noqa: BLE001
            failure = exc
        abort_with(context, failure)
    return unary
