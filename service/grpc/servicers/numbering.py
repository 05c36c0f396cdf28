"""NumberingService."""
from billing.v1 import numbering_pb2_grpc
from service.grpc.converters import numbering_to_proto
from service.grpc.errors import mapped


class NumberingServicer(numbering_pb2_grpc.NumberingServiceServicer):
    def __init__(self, app):
        self.app = app

    @mapped
    def GetNumbering(self, request, context):
        return numbering_to_proto(*self.app.get_numbering())

    @mapped
    def UpdateNumbering(self, request, context):
        return numbering_to_proto(*self.app.update_numbering(request.pattern, request.start))
