"""Case- and accent-folding of searchable text and of query words (SPEC §5 SearchInvoices)."""
import unicodedata
from functools import lru_cache

# Fields are joined with a newline: a query word never holds whitespace, so it cannot match
# across two fields.
FIELD_SEPARATOR = "\n"


# Letters whose base letter is not a decomposition (NFKD leaves them whole): Łódź = lodz.
_LETTERS = str.maketrans({"ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ħ": "h", "Ħ": "h",
                          "ı": "i", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th"})


def _strip_marks(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """`Zürich` → `zurich`, `Straße` → `strasse`, `ＡＢＣ` → `abc`: NFKD, drop combining marks, casefold."""
    if text.isascii():
        return text.lower()  # casefold of ASCII; no marks to drop
    return _fold_unicode(text)


@lru_cache(maxsize=65536)  # names repeat across invoices: fold each once
def _fold_unicode(text: str) -> str:
    return _strip_marks(_strip_marks(text).casefold()).translate(_LETTERS)


def query_words(query: str) -> list[str]:
    """The folded, distinct words of a user query; quotes and operators are plain characters."""
    words = []
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in query)
    for word in fold(text).split():
        if word not in words:
            words.append(word)
    return words


def haystack(fields: list[str]) -> str:
    return FIELD_SEPARATOR.join(fold(f) for f in fields if f)


def like_pattern(word: str) -> str:
    """`%word%` with LIKE's wildcards and the escape character itself escaped (ESCAPE '\\')."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
