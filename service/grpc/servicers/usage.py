"""UsageService: the client-streaming ingest and the usage summary."""
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from billing.v1 import usage_pb2, usage_pb2_grpc
from domain.money import format_money, from_units_nanos
from service.grpc.converters import period_from_proto, period_to_proto
from service.grpc.errors import mapped
from service.persistence.ledger import BatchResult

MAX_BATCH = 10_000


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, app):
        self.app = app
        # Storing threads; each stream keeps at most one batch in flight, so a stream's batches
        # are still stored in order.
        self.writer = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ingest")

    @mapped
    def RecordCalls(self, request_iterator, context):
        """Batches are stored one by one, in order, each in its own transaction. While one is
        being stored (SQLite releases the GIL), the next is already received: a full batch is
        larger than the HTTP/2 window, so a reader that waited would stall the switch."""
        total, sent, pending = BatchResult(), 0, None
        for batch in request_iterator:
            n = len(batch.calls)
            if n > MAX_BATCH:
                total.rejected.extend((sent + i, c.call_id[:128], f"batch holds {n} calls; at most {MAX_BATCH}")
                                      for i, c in enumerate(batch.calls))
            else:
                if pending is not None:  # the previous batch is stored before this one starts
                    total.add(pending.result())  # (a failed batch fails the stream)
                pending = self.writer.submit(self.app.ledger.record, batch.calls, sent)
            sent += n
        if pending is not None:
            total.add(pending.result())
        return usage_pb2.RecordCallsResponse(
            accepted=total.accepted, duplicates=total.duplicates, late=total.late,
            rejected=[usage_pb2.RejectedCall(index=i, call_id=cid, reason=why) for i, cid, why in total.rejected])

    @mapped
    def GetUsageSummary(self, request, context):
        period = period_from_proto(request)
        reseller = self.app.get_reseller(request.reseller_id)
        currency = reseller.terms.currency
        groups = defaultdict(lambda: {s: [0, 0, 0, 0] for s in ("billed", "unbilled", "late")})
        for state, group, calls, seconds, units, nanos in self.app.usage_summary(request.reseller_id, period):
            totals = groups[group][state]
            totals[0] += calls; totals[1] += seconds; totals[2] += units; totals[3] += nanos
        return usage_pb2.UsageSummary(
            reseller_id=request.reseller_id, period=period_to_proto(period.as_dict()), currency=currency,
            groups=[usage_pb2.UsageGroup(destination_group=g, **{
                s: usage_pb2.UsageTotals(calls=v[0], billed_seconds=v[1],
                                         amount=format_money(from_units_nanos(v[2], v[3]), currency))
                for s, v in states.items()}) for g, states in sorted(groups.items())])
