"""NumberingService: the built-in invoice counter (GetNumbering/UpdateNumbering) and every series."""
from billing.v1 import numbering_pb2, numbering_pb2_grpc
from service.grpc import paging
from service.grpc.converters import kind_from_proto, numbering_to_proto, page_size, series_to_proto
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

    @mapped
    def UpsertSeries(self, request, context):
        return series_to_proto(self.numbering.upsert_series(request.series_id, kind_from_proto(request.kind),
                                                            request.pattern, request.start))

    @mapped
    def GetSeries(self, request, context):
        return series_to_proto(self.numbering.get_series(request.series_id))

    @mapped
    def ListSeries(self, request, context):
        cursor = paging.decode(request.page_token, ("after",)) or {"after": ""}
        views, more = self.numbering.page(str(cursor["after"]), page_size(request.page_size))
        token = paging.encode({"after": views[-1].series_id}) if more else ""
        return numbering_pb2.ListSeriesResponse(series=[series_to_proto(v) for v in views], next_page_token=token)
