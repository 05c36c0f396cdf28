"""Method-handler plumbing for the edge, and the wrapper that turns undecodable requests into INVALID_ARGUMENT."""
import grpc

from domain.errors import InvalidArgument
from service.grpc.errors import abort_with

_FACTORIES = (("unary_unary", grpc.unary_unary_rpc_method_handler),
              ("unary_stream", grpc.unary_stream_rpc_method_handler),
              ("stream_unary", grpc.stream_unary_rpc_method_handler),
              ("stream_stream", grpc.stream_stream_rpc_method_handler))


def rewrap(handler: grpc.RpcMethodHandler, wrap, deserializer=None) -> grpc.RpcMethodHandler:
    """A handler of the same kind whose behaviour is `wrap(behaviour, response_streaming)`."""
    for attr, factory in _FACTORIES:
        behaviour = getattr(handler, attr)
        if behaviour is not None:
            return factory(wrap(behaviour, handler.response_streaming),
                           request_deserializer=deserializer or handler.request_deserializer,
                           response_serializer=handler.response_serializer)
    return handler


class Undecodable:
    """Stands in for request bytes that do not parse (e.g. invalid UTF-8 in a string field)."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason

    def error(self) -> InvalidArgument:
        return InvalidArgument(self.field, self.reason[:300])


def _tolerant(deserializer):
    def parse(data: bytes):
        try:
            return deserializer(data)
        except Exception as e:  # noqa: BLE001 - DecodeError and friends; any failure is the client's bytes
            why = type(e).__name__ + (f": {e}" if str(e) else "")
            return Undecodable("request", f"not a valid protobuf message: {why}")
    return parse


def _checked(requests):
    for request in requests:
        if isinstance(request, Undecodable):
            raise request.error()  # servicers are @mapped: leaves as INVALID_ARGUMENT
        yield request


def decoding(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """gRPC answers a request it cannot deserialize with INTERNAL; it is the client's fault: this handler
    answers INVALID_ARGUMENT instead."""
    if handler.request_deserializer is None:
        return handler
    streaming = handler.request_streaming

    def wrap(behaviour, _response_streaming):
        def run(request, context):
            if streaming:
                request = _checked(request)
            elif isinstance(request, Undecodable):
                abort_with(context, request.error())
            return behaviour(request, context)
        return run

    return rewrap(handler, wrap, deserializer=_tolerant(handler.request_deserializer))
