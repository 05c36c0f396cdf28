"""XMP metadata of a Factur-X PDF: PDF/A-3B identification, the Info mirror, the fx extension schema."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

FX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FX_PROPERTIES = {  # Factur-X 1.0 extension schema: property -> description
    "DocumentFileName": "name of the embedded XML invoice file",
    "DocumentType": "INVOICE",
    "Version": "The actual version of the Factur-X XML schema",
    "ConformanceLevel": "The conformance level of the embedded Factur-X data",
}


@dataclass(frozen=True)
class Metadata:
    """What both the Info dictionary and the XMP say (PDF/A requires them to agree)."""

    title: str
    author: str
    subject: str
    creator_tool: str
    producer: str
    date: str  # XMP form, e.g. 2026-03-01T00:00:00+00:00
    file_name: str = "factur-x.xml"
    version: str = "1.0"
    conformance_level: str = "EN 16931"


def xmp_packet(meta: Metadata) -> bytes:
    """The whole packet, UTF-8, no `bytes` attribute, read-only trailer: same input -> same bytes."""
    e = {key: escape(value) for key, value in meta.__dict__.items()}
    body = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e['title']}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{e['author']}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{e['subject']}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{e['producer']}</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{e['creator_tool']}</xmp:CreatorTool>
   <xmp:CreateDate>{e['date']}</xmp:CreateDate>
   <xmp:ModifyDate>{e['date']}</xmp:ModifyDate>
   <xmp:MetadataDate>{e['date']}</xmp:MetadataDate>
  </rdf:Description>
{_extension_schema()}
  <rdf:Description rdf:about="" xmlns:fx="{FX_NAMESPACE}">
   <fx:DocumentType>INVOICE</fx:DocumentType>
   <fx:DocumentFileName>{e['file_name']}</fx:DocumentFileName>
   <fx:Version>{e['version']}</fx:Version>
   <fx:ConformanceLevel>{e['conformance_level']}</fx:ConformanceLevel>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""
    head = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    return (head + body + '\n<?xpacket end="r"?>').encode("utf-8")


def _extension_schema() -> str:
    """PDF/A needs every non-standard XMP property (the fx:* ones) described by an extension schema."""
    properties = "".join(
        f"""
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>{name}</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>{escape(description)}</pdfaProperty:description>
        </rdf:li>""" for name, description in FX_PROPERTIES.items())
    return f"""  <rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>{FX_NAMESPACE}</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>fx</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>{properties}
       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>
  </rdf:Description>"""
