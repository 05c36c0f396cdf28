"""Template blocks + invoice data -> plain text content (no fonts, no borb): the 'what' of a page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from domain import template_language as t

Run = tuple[str, bool]  # (text, bold)
Line = tuple[Run, ...]


@dataclass(frozen=True)
class TextBlock:
    style: str  # "h1" | "h2" | "body"
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class TableBlock:
    kind: str  # "lines" | "totals"
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class LogoBlock:
    pass


@dataclass(frozen=True)
class BreakBlock:
    pass


Content = TextBlock | TableBlock | LogoBlock | BreakBlock
LINE_HEADER = ("Destination group", "Calls", "Minutes", "Amount")
_MULTILINE = {"bill_to.address_lines", "seller.address_lines", "seller.bank_details"}


class DataError(ValueError):
    """The data dict does not have the documented shape."""


def resolve(document: t.TemplateDocument, data: dict | None) -> list[Content]:
    """Substitute every placeholder; `data=None` shows placeholders literally (preview)."""
    _reject_floats(data)
    values = _Values(data)
    out: list[Content] = []
    for block in document.blocks:
        if isinstance(block, (t.Heading, t.Paragraph)):
            style = f"h{block.level}" if isinstance(block, t.Heading) else "body"
            lines = _lines(block.spans, values)
            if lines:
                out.append(TextBlock(style, lines))
        elif isinstance(block, t.LinesTable):
            out.append(TableBlock("lines", LINE_HEADER, values.line_rows()))
        elif isinstance(block, t.TotalsTable):
            out.append(TableBlock("totals", (), values.totals_rows()))
        elif isinstance(block, t.Logo):
            out.append(LogoBlock())
        elif isinstance(block, t.PageBreak):
            out.append(BreakBlock())
    return out


def _lines(spans: tuple[t.Span, ...], values: "_Values") -> tuple[Line, ...]:
    lines: list[list[Run]] = [[]]
    for span in spans:
        if isinstance(span, t.LineBreak):
            lines.append([])
        elif isinstance(span, t.Text):
            lines[-1].append((span.text, span.bold))
        else:
            for index, piece in enumerate(values.field(span.name)):
                if index:
                    lines.append([])
                if piece:
                    lines[-1].append((piece, span.bold))
    return tuple(tuple(line) for line in lines if "".join(text for text, _ in line).strip())


class _Values:
    def __init__(self, data: dict | None):
        self.preview = data is None
        self.data = data or {}

    def field(self, name: str) -> list[str]:
        """The text of a placeholder; a multi-line value is one string per line."""
        if self.preview:
            return ["{{ " + name + " }}"]
        group, key = name.split(".", 1)
        value = (self.data.get(group) or {}).get(key, "")
        if name == "invoice.tax_rate":
            return [percent(value)]
        if name in _MULTILINE:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [line for item in items for line in str(item).splitlines()] or [""]
        return [str(value)]

    def line_rows(self) -> tuple[tuple[str, ...], ...]:
        if self.preview:
            return (tuple("{{ line.%s }}" % k for k in ("destination_group", "calls", "minutes", "amount")),)
        currency = self._invoice("currency")
        rows = []
        for line in self.data.get("lines") or []:
            credited = "calls" not in line  # a credit note's line: group and amount only
            rows.append((
                str(line.get("destination_group", "")),
                "" if credited else str(line.get("calls", "")),
                "" if credited else minutes(line.get("billed_seconds", 0)),
                f"{line.get('amount', '')} {currency}".strip(),
            ))
        return tuple(rows)

    def totals_rows(self) -> tuple[tuple[str, ...], ...]:
        if self.preview:
            amounts = ["{{ invoice.%s }}" % k for k in ("subtotal", "tax", "total")]
            rate = "{{ invoice.tax_rate }}"
        else:
            currency = self._invoice("currency")
            amounts = [f"{self._invoice(k)} {currency}".strip() for k in ("subtotal", "tax", "total")]
            rate = percent(self._invoice("tax_rate"))
        return (("Subtotal", amounts[0]), (f"Tax ({rate})", amounts[1]), ("Total", amounts[2]))

    def _invoice(self, key: str) -> str:
        return str((self.data.get("invoice") or {}).get(key, ""))


def minutes(billed_seconds: object) -> str:
    """billed_seconds / 60 with exactly two decimals, half-up."""
    try:
        seconds = Decimal(str(billed_seconds))
    except InvalidOperation:
        raise DataError(f"billed_seconds is not a number: {billed_seconds!r}") from None
    return str((seconds / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def percent(rate: object) -> str:
    """A decimal fraction as a percentage: '0.19' -> '19 %', '0.075' -> '7.5 %'."""
    if rate in ("", None):
        return ""
    try:
        value = (Decimal(str(rate)) * 100).normalize()
    except InvalidOperation:
        return str(rate)
    return f"{value:f} %"


def _reject_floats(value: object) -> None:
    if isinstance(value, float):
        raise DataError("invoice data must not contain floats; format money as decimal strings")
    if isinstance(value, dict):
        for item in value.values():
            _reject_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _reject_floats(item)
