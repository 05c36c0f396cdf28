"""A tiny lxml builder: prefixed tags, optional children, one deterministic UTF-8 serialisation."""

from __future__ import annotations

from lxml import etree


class Builder:
    """Creates elements named "prefix:Local" in the namespaces given at construction."""

    def __init__(self, nsmap: dict[str | None, str]):
        self.nsmap = nsmap

    def qname(self, tag: str) -> str:
        prefix, _, local = tag.rpartition(":")
        return f"{{{self.nsmap[prefix or None]}}}{local}"

    def root(self, tag: str) -> etree._Element:
        return etree.Element(self.qname(tag), nsmap=self.nsmap)

    def sub(self, parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, self.qname(tag), attrs)
        if text is not None:
            element.text = text
        return element

    def opt(self, parent: etree._Element, tag: str, text: str, **attrs: str) -> None:
        """A child only when `text` is not empty (EN 16931 forbids empty elements)."""
        if text and text.strip():
            self.sub(parent, tag, text.strip(), **attrs)


def serialize(root: etree._Element) -> bytes:
    """UTF-8 with an XML declaration, literal non-ASCII characters, indented; same tree -> same bytes."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
