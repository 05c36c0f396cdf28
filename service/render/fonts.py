"""DejaVu Sans for borb: fontTools subsets of the used glyphs, a correct /W, '?' for missing glyphs."""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import math
import os
import string
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

FONT_DIR = Path(__file__).parent / "fonts"
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
REPLACEMENT = "?"
# Always in every subset: printable ASCII (page footers, digits) and "€", which makes borb
# build a Unicode (Type0) font even for pure-Latin text (borb.md pitfall 2).
BASE_CHARS = frozenset(string.printable.strip() + " €")
# Subsets kept per worker: (style, character set) entries. A character set costs ~140 ms to subset
# (both styles; ~90 ms for a Latin one, see _subset_bytes) and ~0.25 MB to keep; 8 sets thrashed
# when 20 resellers' names each brought their own accented letters (render p99 under load, issue
# #11), 128 sets cost ~16 MB per worker.
_CACHE_SIZE = 256

_lock = threading.Lock()
_shared_dir: str | None = None  # see share_subsets
_subsets: OrderedDict[tuple[str, frozenset[str]], object] = OrderedDict()


@dataclass(frozen=True)
class FontPair:
    """The regular and bold borb fonts of one document, and the characters both can draw."""

    regular: object
    bold: object
    drawable: frozenset[str]
    advances: tuple[dict[str, float], dict[str, float]]  # (regular, bold): char -> width / 1000 em

    def width(self, text: str, bold: bool, size: float) -> int:
        """Width in points as borb computes it (ceil of the summed /W advances), without its slow scan."""
        advance = self.advances[1 if bold else 0]
        return math.ceil(sum(advance[c] for c in text) * size) if text else 0

    def clean(self, text: str) -> str:
        """`text` as drawn: NFC, tabs/odd spaces as ' ', anything undrawable as '?'."""
        return "".join(c if c in self.drawable else _fallback(c) for c in normalize(text))


def normalize(text: str) -> str:
    """NFC plus whitespace folding; applied before choosing glyphs."""
    text = unicodedata.normalize("NFC", text)
    return "".join(" " if c.isspace() and c != "\n" else c for c in text)


def _fallback(char: str) -> str:
    return " " if char.isspace() else REPLACEMENT


@functools.cache
def supported_chars() -> frozenset[str]:
    """Characters both DejaVu Sans styles map to a glyph (control characters excluded)."""
    from fontTools.ttLib import TTFont

    sets = []
    for filename in FONT_FILES.values():
        cmap = TTFont(FONT_DIR / filename, lazy=True).getBestCmap()
        # borb writes ToUnicode entries as 4 hex digits: code points above U+FFFF would break.
        sets.append({chr(cp) for cp in cmap
                     if cp <= 0xFFFF and unicodedata.category(chr(cp)) not in ("Cc", "Cs", "Co")})
    return frozenset(set.intersection(*sets))


def font_pair(texts: list[str]) -> FontPair:
    """Fonts holding every drawable character of `texts`; fresh copies, safe to mutate."""
    wanted = {c for t in texts for c in normalize(t)}
    chars = frozenset((wanted & supported_chars()) | BASE_CHARS)
    regular, regular_advances = _cached("regular", chars)
    bold, bold_advances = _cached("bold", chars)
    drawable = frozenset(regular_advances.keys() & bold_advances.keys())
    return FontPair(copy.deepcopy(regular), copy.deepcopy(bold), drawable, (regular_advances, bold_advances))


def clear_cache() -> None:
    with _lock:
        _subsets.clear()


def _cached(style: str, chars: frozenset[str]) -> tuple[object, dict[str, float]]:
    key = (style, chars)
    with _lock:
        if key in _subsets:
            _subsets.move_to_end(key)
            return _subsets[key]
    value = _build(style, chars)
    with _lock:
        _subsets[key] = value
        while len(_subsets) > _CACHE_SIZE:
            _subsets.popitem(last=False)
    return value


def _build(style: str, chars: frozenset[str]) -> tuple[object, dict[str, float]]:
    """Subset, load through borb, replace /W; return the font and the advance of each encodable char."""
    from borb.pdf import TrueTypeFont

    data = _shared_subset_bytes(style, chars)
    with tempfile.TemporaryDirectory(prefix="billing-font-") as tmp:
        path = os.path.join(tmp, "subset.ttf")
        with open(path, "wb") as handle:
            handle.write(data)
        font = TrueTypeFont.from_file(path)
    widths = _fix_widths(font, data)
    codes = {c: font.get_character_code(c) for c in chars}
    advances = {c: widths[code] / 1000 for c, code in codes.items() if code is not None and 0 <= code < len(widths)}
    return font, advances


def share_subsets(directory: str | None) -> None:
    """Keep the subsets this process cuts in `directory` and take those other processes cut there
    (the render pool's workers share one: a character set is cut once per pool, not per worker)."""
    global _shared_dir
    _shared_dir = directory


def _shared_subset_bytes(style: str, chars: frozenset[str]) -> bytes:
    if _shared_dir is None:
        return _subset_bytes(style, chars)
    digest = hashlib.sha256("\n".join(sorted(chars)).encode("utf-8", "surrogatepass")).hexdigest()
    path = os.path.join(_shared_dir, f"{style}-{digest}.ttf")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        pass
    data = _subset_bytes(style, chars)
    try:  # written whole, then renamed: a reader sees all of a subset or none
        with tempfile.NamedTemporaryFile(dir=_shared_dir, prefix=f".{style}-", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError:
        pass  # (the pool removed the directory, or the disk is full: this worker still has it)
    return data


def _subset_bytes(style: str, chars: frozenset[str]) -> bytes:
    """The subset of `chars`: cut from the pre-cut Latin subset when they all lie in it (2x faster
    than from the whole font, and the same bytes: a subset keeps the retained glyphs in the
    font's order, so cutting twice ends where cutting once does — tested), else from the font."""
    source = _latin(style) if chars <= latin_chars() else _stripped(style)
    return _cut(source, chars)


def _cut(font_bytes: bytes, chars: frozenset[str]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.layout_features = []
    options.notdef_outline = True
    font = TTFont(io.BytesIO(font_bytes), recalcTimestamp=False)  # deterministic bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.cache
def latin_chars() -> frozenset[str]:
    """Basic Latin to Latin Extended-B, the common typographic marks and €: the characters of most
    European invoices (names such as Łódź, Kraków, São Paulo, Genève)."""
    marks = "€–—‘’‚“”„•…‰′″‹›"
    return frozenset(c for c in map(chr, range(0x20, 0x250)) if c in supported_chars()) | \
        frozenset(c for c in marks if c in supported_chars()) | BASE_CHARS


@functools.cache
def _latin(style: str) -> bytes:
    """The font cut to `latin_chars()` (~36 KB, ~0.1 s once per worker: made by its warm-up)."""
    return _cut(_stripped(style), latin_chars())


@functools.cache
def _stripped(style: str) -> bytes:
    """The font file without the tables borb cannot use; decompiling GPOS alone costs ~250 ms."""
    from fontTools.ttLib import TTFont

    font = TTFont(FONT_DIR / FONT_FILES[style], recalcTimestamp=False)
    for tag in ("GSUB", "GPOS", "GDEF", "kern", "FFTM", "DSIG"):
        if tag in font:
            del font[tag]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _fix_widths(font: object, data: bytes) -> list[float]:
    """One /W run [0 [w0 ... wn]] from the subset's own advance widths (borb.md pitfall 1)."""
    from fontTools.ttLib import TTFont

    ttf = TTFont(io.BytesIO(data))
    scale = 1000 / ttf["head"].unitsPerEm
    hmtx = ttf["hmtx"]
    widths = [round(hmtx[glyph][0] * scale, 2) for glyph in ttf.getGlyphOrder()]
    descendant = font["DescendantFonts"][0]
    descendant["W"] = [0, widths]
    return widths
