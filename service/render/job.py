"""What a render is asked to do, and how it fails (shared by the server side and the workers)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

RENDERER_VERSION = "1"  # bump whenever the bytes produced for the same input change


class RenderFailed(Exception):
    """No PDF could be produced; the message says why (bad template, logo, data, or a crash)."""


@dataclass(frozen=True)
class RenderJob:
    """One PDF to render. `data=None` is PREVIEW mode: placeholders are shown literally."""

    source: str
    logo: bytes | None
    data: dict | None
    document_date: str  # ISO-8601 UTC, "2026-03-01T10:00:00Z": /CreationDate and /ModDate
    document_id: str  # stable id (e.g. invoice id + template version); the trailer /ID hashes it


@functools.cache
def builtin_template_source() -> str:
    """The built-in template (version 0), read on first use (no I/O at import)."""
    return (Path(__file__).parent / "builtin_template.tpl").read_text(encoding="utf-8")
