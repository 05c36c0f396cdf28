"""NumberingService."""
from billing.v1 import numbering_pb2_grpc
from service.grpc.converters import numbering_to_proto
from service.grpc.errors import mapped
from service.usecases.numbering import NumberingAdmin


class NumberingServicer(numbering_pb2_grpc.NumberingServiceServicer):
    def __init__(self, numbering: NumberingAdmin):
        self.numbering = numbering

    @mapped
    def GetNumbering(self, request, context):
        return numbering_to_proto(*self.numbering.get())

    @mapped
    def UpdateNumbering(self, request, context):
        return numbering_to_proto(*self.numbering.update(request.pattern, request.start))
