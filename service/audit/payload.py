"""An event's attributes as JSON: Decimal, UUID, date and datetime as strings."""
import json
from datetime import date, datetime
from typing import Any

META = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def _default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)  # Decimal, UUID, and anything else a transcoding restores


def payload_json(event: Any) -> str:
    attributes = {k: v for k, v in vars(event).items() if k not in META}
    return json.dumps(attributes, default=_default, sort_keys=True, ensure_ascii=False)
