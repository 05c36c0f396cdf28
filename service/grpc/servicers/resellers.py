"""ResellerService."""
from billing.v1 import reseller_pb2, reseller_pb2_grpc
from service.grpc import paging
from service.grpc.converters import page_size, terms_from_proto, terms_to_proto
from service.grpc.errors import mapped


class ResellerServicer(reseller_pb2_grpc.ResellerServiceServicer):
    def __init__(self, app):
        self.app = app

    @mapped
    def UpsertReseller(self, request, context):
        reseller, position = self.app.upsert_reseller(terms_from_proto(request))
        return terms_to_proto(reseller.terms, position)

    @mapped
    def GetReseller(self, request, context):
        reseller = self.app.get_reseller(request.reseller_id)
        return terms_to_proto(reseller.terms, self.app.position_of(reseller.id))

    @mapped
    def ListResellers(self, request, context):
        size = page_size(request.page_size)
        cursor = paging.decode(request.page_token, ("after",)) or {"after": ""}
        ids = self.app.list_reseller_ids(cursor["after"], size + 1)
        page = [self.app.get_reseller(i) for i in ids[:size]]
        token = paging.encode({"after": ids[size - 1]}) if len(ids) > size else ""
        return reseller_pb2.ListResellersResponse(
            resellers=[terms_to_proto(r.terms, self.app.position_of(r.id)) for r in page], next_page_token=token)
