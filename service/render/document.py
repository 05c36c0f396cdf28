"""Pure layout to borb: a TemplateDocument plus data -> a borb Document with fixed metadata."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timezone

from domain.template_language import TemplateDocument
import service.render.content as content
import service.render.fonts as fonts
from service.render.layout import ImageOp, Layout, PAGE_H, PAGE_W, RectOp, TextOp


def build_document(template: TemplateDocument, data: dict | None, logo=None,
                   document_date: str = "1970-01-01T00:00:00Z", document_id: str = ""):
    """Lay out and paint every page; `logo` is (PIL image, (w_pt, h_pt)) or None."""
    from borb.pdf import Document, Page

    blocks = content.resolve(template, data)
    font_pair = fonts.font_pair(_texts(blocks))
    cleaned = [_clean(block, font_pair) for block in blocks]
    pages = Layout(font_pair.width, logo[1] if logo else None, preview=data is None).run(cleaned)
    document = Document()
    for ops in pages:
        page = Page(width_in_points=PAGE_W, height_in_points=PAGE_H)
        document.append_page(page)
        for op in ops:
            _paint(op, page, font_pair, logo)
    set_metadata(document, document_date, document_id)
    return document


def set_metadata(document, document_date: str, document_id: str) -> None:
    """Fixed /CreationDate, /ModDate and trailer /ID instead of the wall clock and random ids."""
    from borb.pdf.primitives import datestr, hexstr, name

    when = datetime.strptime(document_date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    stamp = datestr(when.strftime("D:%Y%m%d%H%M%SZ"))
    trailer = document["Trailer"]
    trailer["Info"][name("CreationDate")] = stamp
    trailer["Info"][name("ModDate")] = stamp
    identifier = hexstr(hashlib.sha256(document_id.encode("utf-8")).hexdigest()[:32].upper())
    trailer[name("ID")] = [identifier, identifier]


def _texts(blocks) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, content.TextBlock):
            out.extend(text for line in block.lines for text, _ in line)
        elif isinstance(block, content.TableBlock):
            out.extend(block.header)
            out.extend(cell for row in block.rows for cell in row)
    return out


def _clean(block, font_pair: fonts.FontPair):
    if isinstance(block, content.TextBlock):
        lines = tuple(tuple((font_pair.clean(text), bold) for text, bold in line) for line in block.lines)
        return content.TextBlock(block.style, lines)
    if isinstance(block, content.TableBlock):
        rows = tuple(tuple(font_pair.clean(cell) for cell in row) for row in block.rows)
        return content.TableBlock(block.kind, tuple(font_pair.clean(h) for h in block.header), rows)
    return block


def _paint(op, page, font_pair: fonts.FontPair, logo) -> None:
    from borb.pdf import Image, Shape

    if isinstance(op, TextOp):
        font = font_pair.bold if op.bold else font_pair.regular
        chunk = _measured_chunk()(op.text, font=font, font_size=op.size, font_color=_color(op.color))
        chunk.measured = (op.width, op.size)
        chunk.paint(available_space=(_pt(op.x), _pt(op.baseline), op.width, op.size), page=page)
    elif isinstance(op, RectOp):
        corners = [(0, 0), (op.w, 0), (op.w, op.h), (0, op.h)]
        shape = Shape(coordinates=corners, fill_color=_color(op.color), stroke_color=None, line_width=0)
        shape.paint(available_space=(_pt(op.x), _pt(op.y), _pt(op.w), _pt(op.h)), page=page)
    elif isinstance(op, ImageOp):
        image = Image(logo[0], size=(op.w, op.h))
        image.paint(available_space=(_pt(op.x), _pt(op.y), op.w, op.h), page=page)


def _pt(value: float) -> float:
    return round(value, 2)


@functools.cache
def _color(hex_code: str):
    from borb.pdf import HexColor

    return HexColor(hex_code)


@functools.cache
def _measured_chunk():
    """A borb Chunk whose size we already know: borb's own measuring rescans /W per character."""
    from borb.pdf import Chunk

    class MeasuredChunk(Chunk):
        measured = (0, 0)

        def get_size(self, available_space):
            return self.measured

    return MeasuredChunk
