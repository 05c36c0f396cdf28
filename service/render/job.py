"""What a render is asked to do, and how it fails (shared by the server side and the workers)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

RENDERER_VERSION = "1"  # bump whenever the bytes produced for the same input change
# The built-in template's revision that new documents pin (SPEC Part II): 1 = the first release's
# (builtin_template.tpl, what documents issued before Part II render with), 2 = with the
# document.* placeholders, due date, VAT note and bank fields (builtin_template_2.tpl).
BUILTIN_REVISION = 2


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
def builtin_template_source(revision: int = 1) -> str:
    """The built-in template (version 0) of a revision, read on first use (no I/O at import)."""
    name = "builtin_template.tpl" if revision <= 1 else f"builtin_template_{revision}.tpl"
    return (Path(__file__).parent / name).read_text(encoding="utf-8")
