"""The invoice template language: what parses, what is rejected, and where the error points."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import TemplateSyntaxError
from domain.template_language import (
    MAX_TEMPLATE_BYTES, PLACEHOLDERS, Field, Heading, LineBreak, LinesTable, Logo, PageBreak,
    Paragraph, Text, TotalsTable, parse_template,
)


def test_plain_text_is_a_valid_template():
    doc = parse_template("Thank you for your business.\nSee you soon.")
    assert doc.blocks == (Paragraph((Text("Thank you for your business."), LineBreak(), Text("See you soon."))),)


def test_empty_source_is_an_empty_document():
    assert parse_template("").blocks == ()


@pytest.mark.parametrize("name", sorted(set(PLACEHOLDERS) - {"lines_table", "totals_table", "logo"}))
@pytest.mark.parametrize("braces", ["{{ %s }}", "{{%s}}", "{{   %s\t}}"])
def test_every_documented_inline_name_is_accepted(name, braces):
    doc = parse_template("Value: " + braces % name + " end")
    assert doc.blocks == (Paragraph((Text("Value: "), Field(name), Text(" end"))),)


def test_block_placeholders_stand_alone_on_their_lines():
    doc = parse_template("{{ logo }}\n  {{lines_table}}  \n{{ totals_table }}\n---pagebreak---\n")
    assert doc.blocks == (Logo(), LinesTable(), TotalsTable(), PageBreak())
    assert doc.field_names() == {"logo", "lines_table", "totals_table"}


def test_headings_bold_and_paragraphs():
    doc = parse_template("# Invoice {{ invoice.number }}\n## Bill to\n\n**{{ bill_to.name }}** ltd\nx\n\n\ny")
    assert doc.blocks == (
        Heading(1, (Text("Invoice "), Field("invoice.number"))),
        Heading(2, (Text("Bill to"),)),
        Paragraph((Field("bill_to.name", bold=True), Text(" ltd"), LineBreak(), Text("x"))),
        Paragraph((Text("y"),)),
    )


def test_unmatched_bold_marker_and_stray_closing_braces_stay_literal_text():
    doc = parse_template("a **b** c ** d }} e")
    assert doc.blocks == (Paragraph((Text("a "), Text("b", True), Text(" c ** d }} e"))),)


def test_hash_without_space_is_not_a_heading():
    assert parse_template("#hashtag").blocks == (Paragraph((Text("#hashtag"),)),)


@pytest.mark.parametrize("source, line, column", [
    ("{{ ''.__class__.__mro__ }}", 1, 1),
    ("Total: {{ a() }}", 1, 8),
    ("x\n  {{ x|f }}", 2, 3),
    ("{{ invoice['x'] }}", 1, 1),
    ("{{ invoice.number.__class__ }}", 1, 1),
    ("{{ invoice }}", 1, 1),
    ("{{ invoice.nmber }}", 1, 1),
    ("{{ }}", 1, 1),
    ("{{ invoice.number invoice.total }}", 1, 1),
    ("ok {{ invoice.number }} {{ config.SECRET }}", 1, 25),
    ("line\r\nline\r\n\tbad {{ __import__('os') }}", 3, 6),
    ("Amount {{ lines_table }}", 1, 8),
    ("# {{ totals_table }} here", 1, 3),
    ("ß {{ invoice.number", 1, 3),
    ("{{ invoice.number }\n}}", 1, 1),
])
def test_hostile_unknown_and_unclosed_placeholders_are_rejected_at_the_braces(source, line, column):
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template(source)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(caught.value)


def test_unknown_name_is_named_in_the_message():
    with pytest.raises(TemplateSyntaxError, match="unknown placeholder 'seller.fax'"):
        parse_template("{{ seller.fax }}")


def test_source_over_256_kib_is_rejected_at_line_1_column_1():
    parse_template("a" * MAX_TEMPLATE_BYTES)
    for source in ("a" * (MAX_TEMPLATE_BYTES + 1), "ż" * (MAX_TEMPLATE_BYTES // 2 + 1)):
        with pytest.raises(TemplateSyntaxError) as caught:
            parse_template(source)
        assert (caught.value.line, caught.value.column) == (1, 1)


def test_nul_byte_is_rejected_where_it_stands():
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template("fine\nab\x00c")
    assert (caught.value.line, caught.value.column) == (2, 3)


def test_error_is_an_invalid_argument_on_the_source_field():
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template("{{ x }}")
    assert caught.value.field == "source"


def test_every_placeholder_is_documented_with_one_line():
    assert all(text and "\n" not in text for text in PLACEHOLDERS.values())
    assert {"invoice.number", "bill_to.address_lines", "seller.bank_details", "lines_table"} <= set(PLACEHOLDERS)


_ALPHABET = st.sampled_from(list("{}*#-\n\r\t ab.|()[]'_\x00ż") + ["{{", "}}", "**", "# ", "## ",
                                                                   "invoice.number", "logo",
                                                                   "lines_table", "---pagebreak---"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(_ALPHABET, max_size=60).map("".join)))
def test_parse_raises_nothing_but_template_syntax_error(source):
    try:
        doc = parse_template(source)
    except TemplateSyntaxError as error:
        assert error.line >= 1 and error.column >= 1
    else:
        assert all(name in PLACEHOLDERS for name in doc.field_names())
