"""UsageService: the client-streaming ingest and the usage summary."""
from billing.v1 import usage_pb2, usage_pb2_grpc
from domain.calls import BatchResult
from service.grpc.converters import calls_from_proto, period_from_proto, period_to_proto, usage_totals_to_proto
from service.grpc.errors import mapped
from service.usecases.ingest import Ingest

MAX_BATCH = 10_000


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, ingest: Ingest):
        self.ingest = ingest

    @mapped
    def RecordCalls(self, request_iterator, context):
        """Batches are stored one by one, in order, each in its own transaction. While one is
        being stored, the next is already received: a full batch is larger than the HTTP/2
        window, so a reader that waited would stall the switch. It is converted only once the
        previous one is stored: converting meanwhile would compete with the store for the GIL
        (SQLite releases it on every row), which cost more than it overlapped."""
        total, sent, pending = BatchResult(), 0, None
        for batch in request_iterator:
            if pending is not None:  # the previous batch is stored before this one starts
                total.add(pending.result())  # (a failed batch fails the stream)
                pending = None
            n = len(batch.calls)
            if n > MAX_BATCH:
                total.rejected.extend((sent + i, c.call_id[:128], f"batch holds {n} calls; at most {MAX_BATCH}")
                                      for i, c in enumerate(batch.calls))
            else:
                pending = self.ingest.submit(calls_from_proto(batch.calls), sent)
            sent += n
        if pending is not None:
            total.add(pending.result())
        return usage_pb2.RecordCallsResponse(
            accepted=total.accepted, duplicates=total.duplicates, late=total.late,
            rejected=[usage_pb2.RejectedCall(index=i, call_id=cid, reason=why) for i, cid, why in total.rejected])

    @mapped
    def GetUsageSummary(self, request, context):
        period = period_from_proto(request)
        currency, groups = self.ingest.usage_summary(request.reseller_id, period)
        return usage_pb2.UsageSummary(
            reseller_id=request.reseller_id, period=period_to_proto(period.as_dict()), currency=currency,
            groups=[usage_pb2.UsageGroup(destination_group=g, **{
                state: usage_totals_to_proto(sums, currency) for state, sums in usage.states.items()})
                for g, usage in groups.items()])
