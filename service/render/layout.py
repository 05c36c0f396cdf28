"""Page layout without borb: content blocks -> positioned draw operations on A4 pages.

Coordinates are PDF points, origin bottom-left. Text is wrapped here (not by borb), so a
paragraph line or a table row breaks across pages exactly where it should, and the
lines table repeats its header row on every page it spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from service.render.content import BreakBlock, Content, LogoBlock, TableBlock, TextBlock

PAGE_W, PAGE_H = 595, 842
LEFT, RIGHT, TOP, BOTTOM = 50, 545, 800, 56
WIDTH = RIGHT - LEFT
FOOTER_BASELINE = 32
# style -> (font size, bold, leading, space before)
STYLES = {"h1": (17, True, 21, 12), "h2": (11, True, 15, 10), "body": (9, False, 12, 7)}
TABLE_SIZE, TABLE_LEADING, PAD_X, PAD_Y = 9, 11, 6, 3
LINE_COLUMNS = (0.43, 0.15, 0.17, 0.25)
TOTALS_WIDTH = 300
HEADER_FILL, RULE_FILL, MUTED = "#EDEFF2", "#C9CDD3", "#555555"
_TOKENS = re.compile(r"\S+|\s+")
_MAX_WORD = 400  # longer tokens are split without being measured whole
MAX_CELL_LINES = 12  # a table cell shows at most this many wrapped lines; a row never outgrows a page

Measure = Callable[[str, bool, int], int]


@dataclass(frozen=True)
class TextOp:
    x: float
    baseline: float
    text: str
    bold: bool
    size: int
    width: int
    color: str = "#000000"


@dataclass(frozen=True)
class RectOp:
    x: float
    y: float
    w: float
    h: float
    color: str


@dataclass(frozen=True)
class ImageOp:
    x: float
    y: float
    w: int
    h: int


Op = TextOp | RectOp | ImageOp


class Layout:
    """Flows content top to bottom; `pages` is one list of draw operations per page."""

    def __init__(self, measure: Measure, logo_size: tuple[int, int] | None, preview: bool):
        self.measure, self.logo_size, self.preview = measure, logo_size, preview
        self.pages: list[list[Op]] = [[]]
        self.y, self.float_bottom, self.float_width = TOP, TOP, 0

    def run(self, blocks: list[Content]) -> list[list[Op]]:
        for block in blocks:
            if isinstance(block, TextBlock):
                self._text(block)
            elif isinstance(block, TableBlock) and block.kind == "lines":
                self._lines_table(block)
            elif isinstance(block, TableBlock):
                self._totals(block)
            elif isinstance(block, LogoBlock):
                self._logo()
            elif isinstance(block, BreakBlock) and self.pages[-1]:
                self._new_page()
        self._footers()
        return self.pages

    # -- flow -------------------------------------------------------------------------------
    def _new_page(self) -> None:
        self.pages.append([])
        self.y, self.float_bottom, self.float_width = TOP, TOP, 0

    def _at_top(self) -> bool:
        return self.y >= TOP

    def _space(self, gap: float) -> None:
        if not self._at_top():
            self.y -= gap

    def _need(self, height: float) -> None:
        if self.y - height < BOTTOM and not self._at_top():
            self._new_page()

    def _clear_float(self) -> None:
        self.y = min(self.y, self.float_bottom)

    # -- text -------------------------------------------------------------------------------
    def _text(self, block: TextBlock) -> None:
        size, bold, leading, before = STYLES[block.style]
        self._space(before)
        for line in block.lines:
            tokens = [(m.group() if not m.group().isspace() else " ", b or bold)
                      for text, b in line for m in _TOKENS.finditer(text)]
            while tokens:
                self._need(leading)
                width = WIDTH - self.float_width if self.y > self.float_bottom else WIDTH
                segments, tokens = wrap(tokens, width, size, self.measure)
                self._place_line(segments, LEFT, self.y - size, size)
                self.y -= leading

    def _place_line(self, segments, x: float, baseline: float, size: int, color="#000000") -> None:
        for text, bold in segments:
            width = self.measure(text, bold, size)
            self.pages[-1].append(TextOp(x, baseline, text, bold, size, width, color))
            x += width

    # -- tables -----------------------------------------------------------------------------
    def _lines_table(self, block: TableBlock) -> None:
        widths = [int(WIDTH * f) for f in LINE_COLUMNS]
        widths[0] += WIDTH - sum(widths)
        rows = block.rows or (("No calls in this period.", "", "", ""),)
        header = self._cells(block.header, widths, True)
        self._clear_float()
        self._space(STYLES["body"][3])
        first = self._cells(rows[0], widths, False)
        self._need(_height(header) + _height(first))
        self._row(header, widths, fill=HEADER_FILL)
        for index, row in enumerate(rows):
            cells = first if index == 0 else self._cells(row, widths, False)
            if self.y - _height(cells) < BOTTOM:
                self._new_page()
                self._row(header, widths, fill=HEADER_FILL)
            self._row(cells, widths)

    def _cells(self, texts, widths, bold: bool) -> list[list[list[tuple[str, bool]]]]:
        out = []
        for text, width in zip(texts, widths):
            tokens = [(m.group() if not m.group().isspace() else " ", bold) for m in _TOKENS.finditer(text)]
            lines = []
            while tokens and len(lines) < MAX_CELL_LINES:
                segments, tokens = wrap(tokens, width - 2 * PAD_X, TABLE_SIZE, self.measure)
                lines.append(segments)
            out.append(lines)
        return out

    def _row(self, cells, widths, fill: str | None = None) -> None:
        height = _height(cells)
        top, x = self.y, LEFT
        if fill:
            self.pages[-1].append(RectOp(LEFT, top - height, WIDTH, height, fill))
        for column, (lines, width) in enumerate(zip(cells, widths)):
            for number, segments in enumerate(lines):
                baseline = top - PAD_Y - TABLE_SIZE - number * TABLE_LEADING + 1
                used = sum(self.measure(t, b, TABLE_SIZE) for t, b in segments)
                start = x + PAD_X if column == 0 else x + width - PAD_X - used
                self._place_line(segments, start, baseline, TABLE_SIZE)
            x += width
        self.pages[-1].append(RectOp(LEFT, top - height, WIDTH, 0.6, RULE_FILL))
        self.y = top - height

    def _totals(self, block: TableBlock) -> None:
        self._clear_float()
        self._space(STYLES["body"][3])
        widths = [165, TOTALS_WIDTH - 165]
        rows = [self._cells(row, widths, bold=index == len(block.rows) - 1)
                for index, row in enumerate(block.rows)]
        self._need(sum(_height(r) for r in rows) + 2)
        x0 = RIGHT - TOTALS_WIDTH
        for index, cells in enumerate(rows):
            height, top = _height(cells), self.y
            if index == len(rows) - 1:
                self.pages[-1].append(RectOp(x0, top - height, TOTALS_WIDTH, height, HEADER_FILL))
            for column, lines in enumerate(cells):
                for number, segments in enumerate(lines):
                    baseline = top - PAD_Y - TABLE_SIZE - number * TABLE_LEADING + 1
                    used = sum(self.measure(t, b, TABLE_SIZE) for t, b in segments)
                    start = x0 + PAD_X if column == 0 else RIGHT - PAD_X - used
                    self._place_line(segments, start, baseline, TABLE_SIZE)
            self.y = top - height

    # -- logo and footer --------------------------------------------------------------------
    def _logo(self) -> None:
        if self.logo_size is None and not self.preview:
            return
        w, h = self.logo_size or (120, 45)
        self._need(h)
        x, y = RIGHT - w, self.y - h
        if self.logo_size is None:
            self.pages[-1].append(RectOp(x, y, w, h, HEADER_FILL))
            label = "{{ logo }}"
            used = self.measure(label, False, 9)
            self.pages[-1].append(TextOp(x + (w - used) / 2, y + h / 2 - 3, label, False, 9, used, MUTED))
        else:
            self.pages[-1].append(ImageOp(x, y, w, h))
        self.float_bottom, self.float_width = y - 8, w + 16

    def _footers(self) -> None:
        total = len(self.pages)
        for number, ops in enumerate(self.pages, start=1):
            label = f"Page {number} of {total}"
            used = self.measure(label, False, 8)
            ops.append(TextOp((PAGE_W - used) / 2, FOOTER_BASELINE, label, False, 8, used, MUTED))


def _height(cells) -> int:
    return max(len(lines) for lines in cells) * TABLE_LEADING + 2 * PAD_Y if cells else 0


def wrap(tokens: list[tuple[str, bool]], width: float, size: int, measure: Measure):
    """Take one line of at most `width` points; return (merged segments, remaining tokens)."""
    tokens = list(tokens)
    while tokens and tokens[0][0] == " ":
        tokens.pop(0)
    line: list[tuple[str, bool]] = []
    used = 0
    while tokens:
        text, bold = tokens[0]
        w = measure(text, bold, size) if len(text) <= _MAX_WORD else width + 1
        if used + w <= width:
            line.append(tokens.pop(0))
            used += w
            continue
        if text != " " and not line:
            head = _longest_prefix(text, bold, width, size, measure)
            line.append((head, bold))
            tokens[0] = (text[len(head):], bold)
        break
    while line and line[-1][0] == " ":
        line.pop()
    return _merge(line), tokens


def _longest_prefix(text: str, bold: bool, width: float, size: int, measure: Measure) -> str:
    low, high = 1, min(len(text), _MAX_WORD)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid], bold, size) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low]


def _merge(line: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    merged: list[tuple[str, bool]] = []
    for text, bold in line:
        if merged and merged[-1][1] == bold:
            merged[-1] = (merged[-1][0] + text, bold)
        else:
            merged.append((text, bold))
    return merged
