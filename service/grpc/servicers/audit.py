"""AuditService: every stored event in order, optionally following new ones live (SPEC §8)."""
import threading

from billing.v1 import audit_pb2, audit_pb2_grpc
from service.audit.payload import payload_json
from service.grpc.errors import mapped

PAGE = 500  # events read per query: memory stays bounded however slow the client reads
IDLE_CHECK = 1.0  # seconds between liveness checks while following an idle log


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, app):
        self.app = app

    @mapped
    def StreamEvents(self, request, context):
        position = max(request.from_position, 1)
        done = threading.Event()
        context.add_callback(done.set)  # cancelled by the client, deadline, or server stop
        while context.is_active() and not done.is_set():
            notifications = self.app.recorder.select_notifications(position, PAGE)
            for n in notifications:
                yield self.to_event(n)
            if notifications:
                position = notifications[-1].id + 1
            elif not request.follow or self.app.projections.closing:
                return
            else:  # the runner applies every event: when it passed `position`, there is news
                self.app.projections.wait_for_news(position, IDLE_CHECK)

    def to_event(self, notification) -> audit_pb2.Event:
        event = self.app.mapper.to_domain_event(notification)
        message = audit_pb2.Event(position=notification.id, originator_id=str(notification.originator_id),
                                  originator_version=notification.originator_version, topic=notification.topic,
                                  payload_json=payload_json(event))
        message.timestamp.FromDatetime(event.timestamp)
        return message
