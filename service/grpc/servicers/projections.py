"""ProjectionService: read-model status and rebuild with streamed progress (SPEC §11)."""
from billing.v1 import projection_pb2, projection_pb2_grpc
from service.grpc.errors import mapped
from service.usecases.projection_admin import ProjectionAdmin


class ProjectionServicer(projection_pb2_grpc.ProjectionServiceServicer):
    def __init__(self, admin: ProjectionAdmin):
        self.admin = admin

    @mapped
    def GetProjectionStatus(self, request, context):
        return projection_pb2.ProjectionStatus(projections=[
            projection_pb2.ProjectionState(name=s.name, position=s.position, lag_events=s.lag_events,
                                           generation=s.generation) for s in self.admin.status()])

    @mapped
    def RebuildProjections(self, request, context):
        for applied, total in self.admin.rebuild():
            yield projection_pb2.RebuildProgress(events_applied=applied, events_total=total)
