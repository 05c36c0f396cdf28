"""Generate the Python gRPC stubs from proto/ into gen/ (run by `make proto`)."""
import pathlib
import sys

import google.type  # googleapis-common-protos ships google/type/date.proto
import grpc_tools
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "gen"


def main() -> int:
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    OUT.mkdir(exist_ok=True)
    includes = [
        str(ROOT / "proto"),
        str(pathlib.Path(grpc_tools.__file__).parent / "_proto"),
        str(pathlib.Path(google.type.__path__[0]).parent.parent),
    ]
    args = ["protoc", *(f"-I{i}" for i in includes), f"--python_out={OUT}", f"--pyi_out={OUT}",
            f"--grpc_python_out={OUT}", *protos]
    rc = protoc.main(args)
    for pkg in ("billing", "billing/v1"):
        (OUT / pkg / "__init__.py").touch()
    return rc


if __name__ == "__main__":
    sys.exit(main())
