"""ResellerService."""
from billing.v1 import reseller_pb2, reseller_pb2_grpc
from service.grpc import paging
from service.grpc.converters import page_size, reseller_fields_from_proto, terms_to_proto
from service.grpc.errors import mapped
from service.usecases.resellers import Resellers


class ResellerServicer(reseller_pb2_grpc.ResellerServiceServicer):
    def __init__(self, resellers: Resellers):
        self.resellers = resellers

    @mapped
    def UpsertReseller(self, request, context):
        reseller, position = self.resellers.upsert_fields(*reseller_fields_from_proto(request))
        return terms_to_proto(reseller.terms, position)

    @mapped
    def GetReseller(self, request, context):
        reseller, position = self.resellers.get_with_position(request.reseller_id)
        return terms_to_proto(reseller.terms, position)

    @mapped
    def ListResellers(self, request, context):
        cursor = paging.decode(request.page_token, ("after",)) or {"after": ""}
        page, more = self.resellers.page(str(cursor["after"]), page_size(request.page_size))
        token = paging.encode({"after": page[-1][0].reseller_id}) if more else ""
        return reseller_pb2.ListResellersResponse(
            resellers=[terms_to_proto(r.terms, position) for r, position in page], next_page_token=token)
