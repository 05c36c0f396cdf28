"""Render one PDF in this process: template source + data -> deterministic PDF bytes (borb, AGPL)."""
from __future__ import annotations

import io
from datetime import datetime

from domain.errors import TemplateSyntaxError
from domain.template_language import parse_template
import service.render.hygiene as hygiene
from service.render.content import DataError
from service.render.job import RenderFailed, RenderJob
from service.render.logo import LogoError, load_logo


def render_pdf(job: RenderJob) -> bytes:
    """Render in this process (workers and tests); raises RenderFailed, never returns a partial PDF."""
    try:
        template = parse_template(job.source)
        _check_date(job.document_date)
        logo = load_logo(job.logo) if job.logo is not None else None
        with hygiene.contained():
            from borb.pdf import PDF  # heavy: imported in the render workers only

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
