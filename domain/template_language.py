"""The invoice template language: parse and validate source text into a tree of blocks.

Grammar (one construct per line, lines split on \\n, \\r\\n or \\r):

- ``# text`` / ``## text``: heading level 1 / 2.
- ``---pagebreak---`` alone on a line: start a new page.
- ``{{ lines_table }}``, ``{{ totals_table }}``, ``{{ logo }}`` alone on a line
  (surrounding whitespace allowed): block elements.
- A blank line ends a paragraph; the other lines of a paragraph keep their line
  breaks (an address block reads as written).
- ``**bold**`` within one line; an unmatched ``**`` stays literal text.
- ``{{ name }}`` anywhere in text, whitespace inside the braces optional; it holds
  exactly one documented dotted name (see PLACEHOLDERS). A ``}}`` that closes
  nothing is literal text; ``{{`` always opens a placeholder.

Nothing here evaluates anything: a Field is a name looked up in a data dict later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from domain.errors import TemplateSyntaxError

MAX_TEMPLATE_BYTES = 262144

PLACEHOLDERS: dict[str, str] = {
    "invoice.number": "Invoice number, as assigned by the numbering pattern (e.g. 100001/2026).",
    "invoice.issue_date": "Issue date, YYYY-MM-DD, in the reseller's time zone.",
    "invoice.period_start": "First day of the billed period, YYYY-MM-DD.",
    "invoice.period_end": "Last day of the billed period (inclusive), YYYY-MM-DD.",
    "invoice.currency": "ISO 4217 currency code of every amount (e.g. EUR).",
    "invoice.subtotal": "Sum of the line amounts, before tax.",
    "invoice.tax_rate": "Tax rate shown as a percentage (e.g. 19 %).",
    "invoice.tax": "Tax amount: subtotal x tax rate, rounded half-up to the currency's minor unit.",
    "invoice.total": "Subtotal plus tax.",
    "invoice.status": "Invoice status (ISSUED, VOID, CREDITED).",
    "invoice.due_date": "Due date, YYYY-MM-DD: issue date + the reseller's payment terms (empty on invoices "
    "issued before due dates existed; a credit note's own issue date).",
    "document.title": "\"Invoice\" or \"Credit note\".",
    "document.reference": "Empty on invoices; on credit notes \"Credit note for invoice N of YYYY-MM-DD: reason\".",
    "document.vat_note": "\"Reverse charge\" when the reseller's VAT category is reverse charge, else empty.",
    "bill_to.name": "Reseller's legal name, as at issue.",
    "bill_to.address_lines": "Reseller's postal address, one line per entry.",
    "bill_to.tax_id": "Reseller's tax / VAT id.",
    "bill_to.email": "Reseller's billing e-mail address.",
    "bill_to.country_code": "Reseller's country (ISO 3166-1 alpha-2, e.g. DE).",
    "bill_to.postal_code": "Reseller's postal code.",
    "bill_to.city": "Reseller's city.",
    "seller.name": "Operator's own legal name (UpdateSeller).",
    "seller.address_lines": "Operator's postal address, one line per entry.",
    "seller.tax_id": "Operator's tax / VAT id.",
    "seller.email": "Operator's contact e-mail address.",
    "seller.bank_details": "Operator's payment details (IBAN, BIC, ...); its own line breaks are kept.",
    "seller.iban": "Operator's IBAN (validated).",
    "seller.bic": "Operator's BIC.",
    "seller.country_code": "Operator's country (ISO 3166-1 alpha-2).",
    "seller.postal_code": "Operator's postal code.",
    "seller.city": "Operator's city.",
    "lines_table": "Table of the invoice lines: destination group, calls, minutes "
    "(billed seconds / 60, 2 decimals), amount (on a credit note: the credited lines, calls and minutes "
    "blank). Alone on its line; repeats its header on every page it spans.",
    "totals_table": "Table of subtotal, tax (with rate) and total. Alone on its line.",
    "logo": "The logo uploaded with the template, right-aligned; nothing if none. Alone on its line.",
}

BLOCK_PLACEHOLDERS = frozenset({"lines_table", "totals_table", "logo"})
PAGEBREAK_MARKER = "---pagebreak---"

_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)*")
_TOKEN = re.compile(r"\{\{|\*\*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Text:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Field:
    name: str
    bold: bool = False


@dataclass(frozen=True)
class LineBreak:
    """A hard line break between two source lines of one paragraph."""


Span = Union[Text, Field, LineBreak]


@dataclass(frozen=True)
class Heading:
    level: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class LinesTable:
    pass


@dataclass(frozen=True)
class TotalsTable:
    pass


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Logo:
    pass


Block = Union[Heading, Paragraph, LinesTable, TotalsTable, PageBreak, Logo]
_BLOCKS = {"lines_table": LinesTable(), "totals_table": TotalsTable(), "logo": Logo()}


@dataclass(frozen=True)
class TemplateDocument:
    blocks: tuple[Block, ...]

    def field_names(self) -> frozenset[str]:
        """Every placeholder name the template uses, block placeholders included."""
        names = {s.name for b in self.blocks for s in getattr(b, "spans", ()) if isinstance(s, Field)}
        names |= {n for n, blk in _BLOCKS.items() if blk in self.blocks}
        return frozenset(names)


def parse_template(source: str) -> TemplateDocument:
    """Parse and validate `source`; raise TemplateSyntaxError(line, column, message)."""
    _check_size(source)
    blocks: list[Block] = []
    paragraph: list[Span] = []
    for number, line in enumerate(_LINE_BREAK.split(source), start=1):
        _check_characters(line, number)
        block = _block_line(line, number)
        if block is not None or not line.strip():
            _flush(paragraph, blocks)
            if block is not None:
                blocks.append(block)
            continue
        if paragraph:
            paragraph.append(LineBreak())
        paragraph.extend(_spans(line, number, 1))
    _flush(paragraph, blocks)
    return TemplateDocument(tuple(blocks))


def _check_size(source: str) -> None:
    if not isinstance(source, str):
        raise TemplateSyntaxError(1, 1, "template source must be text")
    if len(source.encode("utf-8", "surrogatepass")) > MAX_TEMPLATE_BYTES:
        raise TemplateSyntaxError(1, 1, f"template source exceeds {MAX_TEMPLATE_BYTES} bytes (UTF-8)")


def _check_characters(line: str, number: int) -> None:
    for column, char in enumerate(line, start=1):
        if char == "\x00":
            raise TemplateSyntaxError(number, column, "NUL character is not allowed")
        if "\ud800" <= char <= "\udfff":
            raise TemplateSyntaxError(number, column, "unpaired surrogate is not valid text")


def _flush(paragraph: list[Span], blocks: list[Block]) -> None:
    if paragraph:
        blocks.append(Paragraph(tuple(paragraph)))
        paragraph.clear()


def _block_line(line: str, number: int) -> Block | None:
    stripped = line.strip()
    if stripped == PAGEBREAK_MARKER:
        return PageBreak()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        name = stripped[2:-2].strip()
        if name in _BLOCKS:
            return _BLOCKS[name]
    for level, prefix in ((1, "# "), (2, "## ")):
        if line.startswith(prefix):
            return Heading(level, tuple(_spans(line[len(prefix):], number, len(prefix) + 1)))
    return None


def _spans(text: str, number: int, first_column: int) -> list[Span]:
    """Split one line into Text/Field spans; `first_column` is the column of text[0]."""
    spans: list[Span] = []
    bold_open = _bold_toggles(text)
    bold, start, pos = False, 0, 0
    while (match := _TOKEN.search(text, pos)) is not None:
        at = match.start()
        if match.group() == "**":
            if at in bold_open:
                _add_text(spans, text[start:at], bold)
                bold, start = not bold, at + 2
            pos = at + 2
            continue
        end = text.find("}}", at + 2)
        if end < 0:
            raise TemplateSyntaxError(number, first_column + at, "unclosed '{{' (missing '}}' on the same line)")
        name = _field_name(text[at + 2:end], number, first_column + at)
        _add_text(spans, text[start:at], bold)
        spans.append(Field(name, bold))
        start = pos = end + 2
    _add_text(spans, text[start:], bold)
    return spans


def _bold_toggles(text: str) -> set[int]:
    """Positions of the `**` markers that pair up (outside placeholders); the rest stay literal."""
    markers, pos = [], 0
    while (match := _TOKEN.search(text, pos)) is not None:
        if match.group() == "**":
            markers.append(match.start())
            pos = match.end()
        else:
            end = text.find("}}", match.end())
            pos = len(text) if end < 0 else end + 2
    return set(markers[: len(markers) // 2 * 2])


def _field_name(inner: str, line: int, column: int) -> str:
    name = inner.strip()
    if name in BLOCK_PLACEHOLDERS:
        raise TemplateSyntaxError(line, column, f"'{{{{ {name} }}}}' must stand alone on its line")
    if name in PLACEHOLDERS:
        return name
    if _NAME.fullmatch(name):
        raise TemplateSyntaxError(line, column, f"unknown placeholder '{name}'")
    shown = name if len(name) <= 40 else name[:37] + "..."
    raise TemplateSyntaxError(
        line, column, f"'{{{{ {shown} }}}}' is not allowed: a placeholder holds exactly one documented name"
    )


def _add_text(spans: list[Span], text: str, bold: bool) -> None:
    if text:
        spans.append(Text(text, bold))
