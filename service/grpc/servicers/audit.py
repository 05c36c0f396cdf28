"""AuditService: the event stream, the latest events and store verification (SPEC §8, §11)."""
import threading

from billing.v1 import audit_pb2, audit_pb2_grpc
from domain.errors import InvalidArgument
from service.grpc import paging
from service.grpc.converters import event_to_proto, page_size
from service.grpc.errors import mapped
from service.usecases.event_feed import EventFeed
from service.usecases.store_audit import StoreAudit

PROGRESS_EVERY = 2000  # events between two VerifyProgress messages


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, feed: EventFeed, audit: StoreAudit):
        self.feed = feed
        self.audit = audit

    @mapped
    def StreamEvents(self, request, context):
        stopped = threading.Event()
        context.add_callback(stopped.set)  # cancelled by the client, deadline, or server stop
        for record in self.feed.stream(request.from_position, request.follow, context.is_active, stopped):
            yield event_to_proto(record)

    @mapped
    def ListEvents(self, request, context):
        cursor = paging.decode(request.page_token, ("before",)) or {"before": request.before_position}
        before = cursor["before"]
        if not isinstance(before, int) or before < 0:
            raise InvalidArgument("page_token", "not a token this server issued")
        records = self.feed.latest(before, page_size(request.page_size))
        more = bool(records) and records[-1].position > 1
        token = paging.encode({"before": records[-1].position}) if more else ""
        return audit_pb2.ListEventsResponse(events=[event_to_proto(r) for r in records], next_page_token=token)

    @mapped
    def VerifyStore(self, request, context):
        steps, last = self.audit.verify(), -PROGRESS_EVERY
        while True:
            try:
                checked, total = next(steps)
            except StopIteration as done:
                report = done.value
                yield audit_pb2.VerifyProgress(events_checked=report.events, events_total=report.events, done=True,
                                               ok=report.clean, problems=report.problems)
                return
            if checked - last >= PROGRESS_EVERY:
                last = checked
                yield audit_pb2.VerifyProgress(events_checked=checked, events_total=total)
