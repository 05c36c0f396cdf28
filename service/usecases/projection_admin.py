"""Projection administration over the API (SPEC §11): status and rebuild with progress."""
from dataclasses import dataclass
from typing import Iterator

from projections import rebuild, tracking
from projections.runner import ProjectionRunner


@dataclass(frozen=True)
class ProjectionState:
    name: str
    position: int
    lag_events: int
    generation: int


class ProjectionAdmin:
    def __init__(self, store, runner: ProjectionRunner):
        self.store = store
        self.runner = runner

    def status(self) -> list[ProjectionState]:
        state, head = rebuild.status(self.store, self.runner.models)
        return [ProjectionState(name, position, max(head - position, 0), generation)
                for name, (generation, position) in sorted(state.items())]

    def rebuild(self) -> Iterator[tuple[int, int]]:
        """(events applied, events total) as the new generation fills; the last one after the swap."""
        result = yield from rebuild.rebuild_steps(self.store, self.runner.models)
        self.runner.wake()
        return result
