"""Writing a `Pdf` answer: to a file (atomically) or raw to stdout; the checksum goes to stderr."""
import os
import sys
import tempfile
from pathlib import Path

from service.cli_commands.common import CliError, err, print_json, wants_json


def add_output(p) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="where to write the PDF; '-' writes the raw bytes to stdout (nothing else is printed there)")


def write_pdf(pdf, args) -> None:
    """Write pdf.content to args.output; report sha256, size and template version on stderr."""
    if args.output == "-":
        if wants_json(args):
            raise CliError("--json and '-o -' both want stdout; write the PDF to a file instead")
        sys.stdout.flush()
        sys.stdout.buffer.write(pdf.content)
        sys.stdout.buffer.flush()
    else:
        _write_atomically(Path(args.output), pdf.content)
    err(f"sha256 {pdf.sha256}  {len(pdf.content)} bytes  template version {pdf.template_version}"
        + ("" if args.output == "-" else f"  -> {args.output}"))
    if wants_json(args):
        print_json({"file": args.output, "sha256": pdf.sha256, "bytes": len(pdf.content),
                    "template_version": pdf.template_version})


def _write_atomically(path: Path, content: bytes) -> None:
    """A reader never sees half a PDF: write a temporary file next to the target, then rename."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except OSError as e:
        raise CliError(f"cannot write {str(path)!r}: {e.strerror}", code=1) from None


def read_file(path: str, what: str) -> bytes:
    """The bytes of FILE ('-' = stdin) or a one-line CliError."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise CliError(f"cannot read {what} {path!r}: {e.strerror}") from None
