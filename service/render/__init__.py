"""Invoice PDF renderer (borb, AGPL): job.py (what to render), renderer.py (in-process), pool.py
(worker processes), and the pure layout pieces (content, layout, fonts, document, logo, hygiene).

Submodules import each other by full module path, never this package, so this file's
re-exports cannot form an import cycle.
"""
from service.render.job import RENDERER_VERSION, RenderFailed, RenderJob, builtin_template_source
from service.render.pool import RenderPool
from service.render.renderer import render_pdf


def __getattr__(name: str) -> str:
    """BUILTIN_TEMPLATE_SOURCE is read from builtin_template.tpl on first use (no I/O at import)."""
    if name == "BUILTIN_TEMPLATE_SOURCE":
        return builtin_template_source()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BUILTIN_TEMPLATE_SOURCE", "RENDERER_VERSION", "RenderFailed", "RenderJob", "RenderPool", "render_pdf",
           "builtin_template_source"]
