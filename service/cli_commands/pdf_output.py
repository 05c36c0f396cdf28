"""Writing a `Pdf` or `XmlDocument` answer: to a file (atomically) or raw to stdout; the checksum goes to stderr."""
import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from billing.v1 import types_pb2
from service.cli_commands.common import CliError, err, print_json, wants_json


def add_output(p, what: str = "PDF", directory: bool = False) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help=f"where to write the {what}"
                        + ("; an existing directory gets the server's file name" if directory else "")
                        + "; '-' writes the raw bytes to stdout (nothing else is printed there)")


def write_pdf(pdf, args) -> None:
    """Write pdf.content to args.output; report sha256, size and template version on stderr."""
    target = _write(pdf.content, args.output, "PDF", args)
    err(f"sha256 {pdf.sha256}  {len(pdf.content)} bytes  template version {pdf.template_version}"
        + ("" if target == "-" else f"  -> {target}"))
    if wants_json(args):
        print_json({"file": target, "sha256": pdf.sha256, "bytes": len(pdf.content),
                    "template_version": pdf.template_version})


def write_xml(document, args) -> None:
    """Write an XmlDocument's content to args.output (a directory: under its filename); report on stderr."""
    output = args.output
    if output != "-" and Path(output).is_dir():
        output = str(Path(output) / document.filename)
    target = _write(document.content, output, "XML", args)
    err(f"sha256 {document.sha256}  {len(document.content)} bytes  {document.filename}"
        + ("" if target == "-" else f"  -> {target}"))
    if wants_json(args):
        print_json({"file": target, "filename": document.filename, "sha256": document.sha256,
                    "bytes": len(document.content)})


def _write(content: bytes, output: str, what: str, args) -> str:
    """Raw to stdout for '-', else atomically to the file; returns where it went."""
    if output == "-":
        if wants_json(args):
            raise CliError(f"--json and '-o -' both want stdout; write the {what} to a file instead")
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        _write_atomically(Path(output), content)
    return output


def _write_atomically(path: Path, content: bytes) -> None:
    """A reader never sees half a file: write a temporary file next to the target, then rename."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600: give the file the mode a plain write would
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise CliError(f"cannot write {str(path)!r}: {e.strerror}", code=1) from None


def _file_mode(path: Path) -> int:
    """The mode of the file being replaced, or 0666 minus the umask for a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def read_file(path: str, what: str) -> bytes:
    """The bytes of FILE ('-' = stdin) or a one-line CliError."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise CliError(f"cannot read {what} {path!r}: {e.strerror}") from None


def add_facturx(p) -> None:
    p.add_argument("--facturx", action="store_true",
                   help="a Factur-X / ZUGFeRD PDF/A-3B with the EN 16931 CII XML embedded (needs the seller's "
                        "and the buyer's country and the seller's VAT id; the server names what is missing)")


def pdf_format(args) -> int:
    """The PdfFormat of --facturx (UNSPECIFIED = the plain PDF, byte-identical to the first release)."""
    return types_pb2.PDF_FORMAT_FACTURX if args.facturx else types_pb2.PDF_FORMAT_UNSPECIFIED


SYNTAX = {"cii": types_pb2.XML_SYNTAX_CII, "ubl": types_pb2.XML_SYNTAX_UBL}


def add_syntax(p) -> None:
    p.add_argument("--syntax", choices=sorted(SYNTAX), required=True,
                   help="cii: UN/CEFACT CII (Factur-X EN 16931, the XML inside --facturx PDFs); "
                        "ubl: UBL 2.1 (Peppol BIS Billing 3.0)")
