"""The console's only way to the data: the public gRPC API, called by method name over one channel.

`Catalog` reads the generated `billing.v1` descriptors, so the console knows which services,
methods, fields and enum values exist today; a screen or button asks `catalog.has(...)` and
appears by itself once a later release adds the RPC. `Api` calls a method with the signed-in
user's token and turns a failed call into an `ApiError` in plain words.
"""
import importlib
import pkgutil
from functools import cached_property

import grpc
from google.protobuf import message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status

PACKAGE = "billing.v1"
TIMEOUT = 30.0  # seconds; renders get RENDER_TIMEOUT
RENDER_TIMEOUT = 120.0


class Catalog:
    """Services, methods, messages and enums of `billing.v1` as generated into this install."""

    @cached_property
    def services(self) -> dict:
        package = importlib.import_module(PACKAGE)
        found = {}
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.endswith("_pb2"):
                module = importlib.import_module(f"{PACKAGE}.{info.name}")
                found.update(module.DESCRIPTOR.services_by_name)
        return found

    def method(self, service: str, method: str):
        """The MethodDescriptor of `Service.Method`, or None when this release has no such RPC."""
        svc = self.services.get(service)
        return svc.methods_by_name.get(method) if svc else None

    def has(self, service: str, method: str) -> bool:
        return self.method(service, method) is not None

    def request_class(self, service: str, method: str):
        return message_factory.GetMessageClass(self.method(service, method).input_type)

    def response_class(self, service: str, method: str):
        return message_factory.GetMessageClass(self.method(service, method).output_type)

    def message_class(self, full_name: str):
        for svc in self.services.values():
            pool = svc.file.pool
            try:
                return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))
            except KeyError:
                continue
        raise KeyError(full_name)

    def has_field(self, message: str, field: str) -> bool:
        """Whether `billing.v1.<message>` has `field` (e.g. Invoice.payment_status)."""
        try:
            return field in self.message_class(f"{PACKAGE}.{message}").DESCRIPTOR.fields_by_name
        except KeyError:
            return False

    def enum_value(self, message: str, field: str, value_name: str) -> int | None:
        """The number of enum value `value_name` of `message.field`, or None if it does not exist."""
        try:
            fd = self.message_class(f"{PACKAGE}.{message}").DESCRIPTOR.fields_by_name[field]
        except KeyError:
            return None
        value = fd.enum_type.values_by_name.get(value_name) if fd.enum_type else None
        return value.number if value else None


class ApiError(Exception):
    """A failed RPC, said in plain words; `fields` maps request field paths to what is wrong."""

    def __init__(self, code: grpc.StatusCode, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or {}

    @property
    def http_status(self) -> int:
        return HTTP_OF.get(self.code, 502)

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> "ApiError":
        code, details = error.code(), error.details() or ""
        fields = {}
        try:
            status = rpc_status.from_call(error)
        except ValueError:
            status = None
        for detail in status.details if status else []:
            bad, failed = error_details_pb2.BadRequest(), error_details_pb2.PreconditionFailure()
            if detail.Unpack(bad):
                fields.update({v.field: v.description for v in bad.field_violations})
            elif detail.Unpack(failed):
                fields.update({v.subject: v.description for v in failed.violations})
        return cls(code, plain_words(code, details), fields)


HTTP_OF = {grpc.StatusCode.INVALID_ARGUMENT: 422, grpc.StatusCode.NOT_FOUND: 404,
           grpc.StatusCode.FAILED_PRECONDITION: 409, grpc.StatusCode.ALREADY_EXISTS: 409,
           grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.UNAUTHENTICATED: 401,
           grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DEADLINE_EXCEEDED: 504}

PREFIX = {
    grpc.StatusCode.INVALID_ARGUMENT: "Please correct the input",
    grpc.StatusCode.NOT_FOUND: "Not found",
    grpc.StatusCode.FAILED_PRECONDITION: "Not possible now",
    grpc.StatusCode.ALREADY_EXISTS: "Already exists",
    grpc.StatusCode.PERMISSION_DENIED: "Your role may not do this",
    grpc.StatusCode.UNAUTHENTICATED: "Your token is not accepted (any more); please sign in again",
    grpc.StatusCode.UNIMPLEMENTED: "The billing server does not offer this yet",
}


def plain_words(code: grpc.StatusCode, details: str) -> str:
    if code == grpc.StatusCode.UNAVAILABLE:
        return "The billing server cannot be reached right now; please try again in a moment."
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "The billing server took too long to answer; please try again."
    prefix = PREFIX.get(code, "The billing server reported an error")
    if not details or code == grpc.StatusCode.UNAUTHENTICATED:  # the server's words name the metadata
        return prefix + "."
    return f"{prefix}: {details}"


class Api:
    """One channel to the billing server; `call` and `stream` carry the caller's token."""

    def __init__(self, target: str, root_cert: bytes | None = None, server_name: str | None = None,
                 catalog: Catalog | None = None):
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        self.channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root_cert),
                                            options=options)
                        if root_cert else grpc.insecure_channel(target, options=options))
        self.catalog = catalog or Catalog()
        self._callables: dict = {}

    def close(self) -> None:
        self.channel.close()

    def _callable(self, service: str, method: str):
        key = (service, method)
        if key not in self._callables:
            md = self.catalog.method(service, method)
            if md is None:
                raise ApiError(grpc.StatusCode.UNIMPLEMENTED, f"{service}.{method} does not exist in this release")
            path = f"/{md.containing_service.full_name}/{md.name}"
            request_cls, response_cls = self.catalog.request_class(service, method), \
                self.catalog.response_class(service, method)
            factory = self.channel.unary_stream if md.server_streaming else self.channel.unary_unary
            self._callables[key] = factory(path, request_serializer=request_cls.SerializeToString,
                                           response_deserializer=response_cls.FromString)
        return self._callables[key]

    def request(self, service: str, method: str, **fields):
        """A request message of `Service.Method` built from keyword fields."""
        return self.catalog.request_class(service, method)(**fields)

    def call(self, token: str | None, service: str, method: str, request=None, timeout: float = TIMEOUT, **fields):
        """Unary call; `request` or keyword fields. Raises ApiError."""
        if request is None:
            request = self.request(service, method, **fields)
        try:
            return self._callable(service, method)(request, timeout=timeout, metadata=metadata(token))
        except grpc.RpcError as e:
            raise ApiError.from_rpc(e) from None

    def stream(self, token: str | None, service: str, method: str, request, limit: int) -> list:
        """Up to `limit` messages of a server-streaming call, then cancel it. Raises ApiError."""
        call = self._callable(service, method)(request, timeout=TIMEOUT, metadata=metadata(token))
        items = []
        try:
            for item in call:
                items.append(item)
                if len(items) >= limit:
                    break
        except grpc.RpcError as e:
            raise ApiError.from_rpc(e) from None
        finally:
            call.cancel()
        return items


def metadata(token: str | None) -> tuple:
    return (("authorization", f"Bearer {token}"),) if token else ()
