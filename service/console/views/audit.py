"""Audit: the latest events, newest first (AuditService.ListEvents, or StreamEvents without follow)."""
from service.console.web import Ctx, Routes

routes = Routes()
PAGE = 50


@routes.get("/audit")
def audit(ctx: Ctx):
    before = ctx.query.get("before", "")
    before = int(before) if before.isdigit() else 0
    if ctx.console.features.list_events:
        page = ctx.call("AuditService", "ListEvents", before_position=before, page_size=PAGE)
        events = list(page.events)
        older = events[-1].position if page.next_page_token and events else 0
    else:
        events = latest_by_stream(ctx, before)
        older = events[-1].position if events and events[-1].position > 1 else 0
    return ctx.render("audit.html", title="Audit", nav="audit", events=events, older=older)


def latest_by_stream(ctx: Ctx, before: int) -> list:
    """The PAGE events before `before` (0 = the newest), newest first, read with StreamEvents.

    The newest position is found by asking "is there an event at or after p?" (a stream opened at p
    and cancelled after its first message): doubling p, then bisecting. That is about 2·log2(N)
    tiny streams; then one stream reads the last PAGE events.
    """
    head = before - 1 if before else newest_position(ctx)
    if head < 1:
        return []
    start = max(1, head - PAGE + 1)
    request = ctx.new("AuditService", "StreamEvents", from_position=start, follow=False)
    events = [e for e in ctx.stream("AuditService", "StreamEvents", request, limit=head - start + 1)
              if e.position <= head]
    return events[::-1]


def newest_position(ctx: Ctx) -> int:
    def first_at_or_after(p: int) -> int:
        request = ctx.new("AuditService", "StreamEvents", from_position=p, follow=False)
        found = ctx.stream("AuditService", "StreamEvents", request, limit=1)
        return found[0].position if found else 0

    low = first_at_or_after(1)
    if not low:
        return 0
    high = low * 2  # invariant: an event exists at low; none at or after high once found
    while (found := first_at_or_after(high)):
        low, high = found, found * 2
    while high - low > 1:  # an event at low, none at or after high
        middle = (low + high) // 2
        found = first_at_or_after(middle)
        if found:
            low = found
        else:
            high = middle
    return low
