"""Invoice PDF renderer: template source + invoice data -> deterministic PDF bytes (borb, AGPL)."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.errors import TemplateSyntaxError
from domain.template import parse_template

RENDERER_VERSION = "1"  # bump whenever the bytes produced for the same input change


def __getattr__(name: str) -> str:
    """BUILTIN_TEMPLATE_SOURCE is read from builtin_template.tpl on first use (no I/O at import)."""
    if name == "BUILTIN_TEMPLATE_SOURCE":
        return _builtin_source()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _builtin_source() -> str:
    return (Path(__file__).parent / "builtin_template.tpl").read_text(encoding="utf-8")


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


def render_pdf(job: RenderJob) -> bytes:
    """Render in this process (workers and tests); raises RenderFailed, never returns a partial PDF."""
    from service.render import hygiene
    from service.render.content import DataError
    from service.render.logo import LogoError, load_logo

    try:
        template = parse_template(job.source)
        _check_date(job.document_date)
        logo = load_logo(job.logo) if job.logo is not None else None
        with hygiene.contained():
            from borb.pdf import PDF

            from service.render.document import build_document

            document = build_document(template, job.data, logo, job.document_date, job.document_id)
            buffer = io.BytesIO()
            PDF.write(document, buffer)
    except TemplateSyntaxError as error:
        raise RenderFailed(f"template rejected: {error.description}") from None
    except (LogoError, DataError) as error:
        raise RenderFailed(str(error)) from None
    except RenderFailed:
        raise
    except Exception as error:
        raise RenderFailed(f"renderer error: {type(error).__name__}: {error}") from error
    return buffer.getvalue()


def _check_date(value: str) -> None:
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        raise RenderFailed(f"document_date must look like 2026-03-01T10:00:00Z, got {value!r}") from None


from service.render.pool import RenderPool  # noqa: E402  (RenderPool needs the names above)

__all__ = ["BUILTIN_TEMPLATE_SOURCE", "RENDERER_VERSION", "RenderFailed", "RenderJob", "RenderPool", "render_pdf"]
