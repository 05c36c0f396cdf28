"""Mixed-load benchmark: one real `billing serve`, many concurrent clients, bounded and loopback only.

    .venv/bin/python bench/load.py [--seconds 60 | --quick] [--clients 16] [--resellers 20]
                                   [--postgres URL] [--verify] [--json] [--seed N]

Starts one `billing serve` subprocess on 127.0.0.1 (a fresh SQLite file in a temporary
directory; with `--postgres URL` a fresh database is created on that PostgreSQL server with
CREATE DATABASE and dropped at the end), prepares the resellers, a default template and one
invoice per reseller, then runs `--clients` threads for `--seconds` (10 with `--quick`), each
picking at random among:

- RecordCalls: one stream with one CallBatch of 100 calls (unique ids, a year of start times);
- CreateInvoice: a one-day period never invoiced before for that reseller, with a request_id;
- SearchInvoices: one or two random words (reseller name words, existing invoice numbers);
- RenderInvoicePdf: an existing invoice (the first render starts the render worker processes).

Prints per RPC: count, throughput/s, p50/p99 latency (ms), errors by status; and the peak RSS
of the server alone and of the server plus its descendants (render workers), sampled from
/proc every 0.5 s. Targets: zero errors, server peak RSS <= 200 MB; exit status 1 if missed.
`--verify` stops the server and runs `billing audit verify` on the store afterwards.
The client shares the machine with the server: on few cores the figures include client CPU.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen"), str(ROOT / "bench")]

from ingest import free_port, stop, wait_serving  # noqa: E402
from billing.v1 import (invoice_pb2, invoice_pb2_grpc, reseller_pb2, reseller_pb2_grpc, template_pb2,  # noqa: E402
                        template_pb2_grpc, types_pb2, usage_pb2, usage_pb2_grpc)
from google.type import date_pb2  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
BILLING = str(VENV_BIN / "billing") if (VENV_BIN / "billing").exists() else shutil.which("billing")
TARGET_SERVER_RSS_MB = 200
BATCH = 100
RPCS = ["RecordCalls", "CreateInvoice", "SearchInvoices", "RenderInvoicePdf"]
WEIGHTS = [45, 20, 25, 10]
RPC_TIMEOUT = 60.0
CITIES = ["Zürich", "München", "Kraków", "Łódź", "Genève", "São Paulo", "Málaga", "Köln", "Göteborg", "Bergen",
          "Porto", "Lyon", "Wien", "Praha", "Dublin", "Oslo", "Aarhus", "Bordeaux", "Napoli", "Sevilla"]
KINDS = ["Telecom", "Voice", "Connect", "Networks", "Carrier"]
GROUPS = [f"{c} {k}" for c in ("Germany", "France", "Italy", "Spain", "Poland", "Switzerland") for k in ("Mobile", "Fixed")]
TEMPLATE = """# Invoice {{ invoice.number }}

**{{ seller.name }}**

Bill to: {{ bill_to.name }}
{{ bill_to.address_lines }}

Period {{ invoice.period_start }} to {{ invoice.period_end }}, issued {{ invoice.issue_date }}.

{{ lines_table }}

{{ totals_table }}
"""


# ---- processes ----------------------------------------------------------------------------
def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """All live descendants of pid (render workers are spawned children; scan /proc for parents)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        frontier += kids
    return out


class RssSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.interval, self.done = pid, interval, threading.Event()
        self.peak_server_kb = self.peak_total_kb = self.max_children = 0

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def sample(self) -> None:
        server = rss_kb(self.pid)
        kids = descendants(self.pid)
        total = server + sum(rss_kb(k) for k in kids)
        self.peak_server_kb = max(self.peak_server_kb, server)
        self.peak_total_kb = max(self.peak_total_kb, total)
        self.max_children = max(self.max_children, len(kids))


# ---- PostgreSQL: a fresh database per run --------------------------------------------------
def create_postgres_database(admin_url: str) -> tuple[str, callable]:
    """A new empty database on the server of `admin_url`; returns its URL and a drop function."""
    import psycopg
    name = f"billing_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return urlparse(admin_url)._replace(path=f"/{name}").geturl(), drop


# ---- workload -----------------------------------------------------------------------------
def d(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


class Shared:
    """State shared by the client threads: invoice days per reseller, existing invoices, search words."""

    def __init__(self, resellers: list[tuple[str, str]]):
        self.lock = threading.Lock()
        self.resellers = resellers
        self.next_day = {rid: 0 for rid, _ in resellers}
        self.invoices: list[tuple[str, str]] = []  # (invoice_id, number)
        self.words = sorted({w for _, name in resellers for w in name.split()})

    def claim_day(self, rid: str) -> date:
        with self.lock:
            i = self.next_day[rid]
            self.next_day[rid] = i + 1
        return date(2025, 1, 1) + timedelta(days=i)

    def add_invoice(self, inv) -> None:
        with self.lock:
            self.invoices.append((inv.invoice_id, inv.number))


class Client(threading.Thread):
    def __init__(self, n: int, channel, shared: Shared, deadline: float, seed: int):
        super().__init__(daemon=True)
        self.n, self.shared, self.deadline = n, shared, deadline
        self.rng = random.Random(seed)
        self.usage = usage_pb2_grpc.UsageServiceStub(channel)
        self.invoices = invoice_pb2_grpc.InvoiceServiceStub(channel)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.error_samples: list[str] = []
        self.batches = 0

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            rpc = self.rng.choices(RPCS, WEIGHTS)[0]
            request = getattr(self, "prepare_" + rpc)()
            if request is None:
                continue
            method = getattr(self.usage if rpc == "RecordCalls" else self.invoices, rpc)
            t0 = time.perf_counter()
            try:
                response = method(request, timeout=RPC_TIMEOUT)
            except grpc.RpcError as e:
                self.errors[rpc][e.code().name] += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{rpc}: {e.code().name}: {e.details()}")
                continue
            self.latencies[rpc].append(time.perf_counter() - t0)
            if rpc == "CreateInvoice":
                self.shared.add_invoice(response)
            elif rpc == "RecordCalls" and response.rejected:
                self.errors[rpc]["REJECTED_CALLS"] += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"RecordCalls rejected: {response.rejected[0]}")

    def prepare_RecordCalls(self):
        rng, rid = self.rng, self.rng.choice(self.shared.resellers)[0]
        self.batches += 1
        batch = usage_pb2.CallBatch()
        base = 1735689600 + rng.randrange(365) * 86400  # a day of 2025 (UTC)
        for k in range(BATCH):
            c = batch.calls.add(call_id=f"L{self.n}-{self.batches}-{k}", reseller_id=rid,
                                billed_seconds=rng.randint(1, 3600), destination=f"49{rng.randint(10**9, 10**10 - 1)}",
                                destination_group=rng.choice(GROUPS), amount=f"0.{rng.randrange(10**6):06d}",
                                currency="EUR")
            c.started_at.seconds = base + rng.randrange(86400)
        return iter([batch])

    def prepare_CreateInvoice(self):
        rid = self.rng.choice(self.shared.resellers)[0]
        day = self.shared.claim_day(rid)
        return invoice_pb2.CreateInvoiceRequest(reseller_id=rid, request_id=f"load-{uuid.uuid4()}",
                                                period=types_pb2.Period(start_date=d(day), end_date=d(day)))

    def prepare_SearchInvoices(self):
        rng = self.rng
        with self.shared.lock:
            numbers = [n for _, n in self.shared.invoices[-200:]]
        pool = self.shared.words + numbers
        query = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 2)))
        return invoice_pb2.SearchInvoicesRequest(query=query, page_size=20)

    def prepare_RenderInvoicePdf(self):
        with self.shared.lock:
            if not self.shared.invoices:
                return None
            invoice_id = self.rng.choice(self.shared.invoices)[0]
        return invoice_pb2.RenderInvoicePdfRequest(invoice_id=invoice_id)


def prepare(channel, shared: Shared) -> None:
    resellers = reseller_pb2_grpc.ResellerServiceStub(channel)
    for rid, name in shared.resellers:
        resellers.UpsertReseller(reseller_pb2.Reseller(
            reseller_id=rid, name=name, currency="EUR", time_zone="Europe/Berlin", tax_rate="0.19",
            address_lines=["Hauptstraße 1", "10115 Berlin"]), timeout=RPC_TIMEOUT)
    templates = template_pb2_grpc.TemplateServiceStub(channel)
    templates.UploadTemplate(template_pb2.UploadTemplateRequest(name="load", source=TEMPLATE, make_default=True),
                             timeout=RPC_TIMEOUT)
    usage = usage_pb2_grpc.UsageServiceStub(channel)
    invoices = invoice_pb2_grpc.InvoiceServiceStub(channel)
    rng = random.Random(1)
    for rid, _ in shared.resellers:  # a few calls and one invoice each: something to search and render
        day = shared.claim_day(rid)
        batch = usage_pb2.CallBatch()
        for k in range(20):
            c = batch.calls.add(call_id=f"prep-{rid}-{k}", reseller_id=rid, billed_seconds=60, destination="4930",
                                destination_group=rng.choice(GROUPS), amount="0.0125", currency="EUR")
            c.started_at.seconds = 1735689600 + (day - date(2025, 1, 1)).days * 86400 + 43200
        usage.RecordCalls(iter([batch]), timeout=RPC_TIMEOUT)
        shared.add_invoice(invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(
            reseller_id=rid, request_id=f"prep-{rid}", period=types_pb2.Period(start_date=d(day), end_date=d(day))),
            timeout=RPC_TIMEOUT))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true", help="10 s")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--resellers", type=int, default=20)
    ap.add_argument("--postgres", metavar="URL", help="PostgreSQL server URL: a fresh database is created there "
                                                      "for the run and dropped afterwards")
    ap.add_argument("--verify", action="store_true", help="run `billing audit verify` on the store afterwards")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    if not 1 <= args.clients <= 256 or not 0 < seconds <= 3600 or not 1 <= args.resellers <= 1000:
        ap.error("--clients 1..256, --seconds 0..3600, --resellers 1..1000")

    tmp = tempfile.mkdtemp(prefix="billing-load-")
    drop = None
    if args.postgres:
        url, drop = create_postgres_database(args.postgres)
    else:
        url = f"sqlite:///{os.path.join(tmp, 'load.db')}"
    log = Path(tmp) / "server.log"
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{port}", "--database", url],
                                cwd=tmp, stdout=out, stderr=out)
    sampler = RssSampler(proc.pid)
    result: dict = {}
    try:
        wait_serving(port, proc, log)
        rng = random.Random(args.seed)
        names = [(f"load-{i:03d}", f"{CITIES[i % len(CITIES)]} {KINDS[i % len(KINDS)]} {i:03d}")
                 for i in range(args.resellers)]
        shared = Shared(names)
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            prepare(channel, shared)
            sampler.start()
            deadline = time.monotonic() + seconds
            clients = [Client(n, channel, shared, deadline, rng.getrandbits(32)) for n in range(args.clients)]
            t0 = time.monotonic()
            for c in clients:
                c.start()
            for c in clients:
                c.join()
            elapsed = time.monotonic() - t0
        sampler.done.set()
        sampler.join()
        sampler.sample()
        rpcs = {}
        for rpc in RPCS:
            lat = sorted(x for c in clients for x in c.latencies[rpc])
            errs = Counter()
            for c in clients:
                errs.update(c.errors[rpc])
            rpcs[rpc] = {"count": len(lat), "per_s": len(lat) / elapsed, "p50_ms": percentile(lat, 50) * 1000,
                         "p99_ms": percentile(lat, 99) * 1000, "errors": dict(errs)}
        result = {
            "backend": "postgresql" if args.postgres else "sqlite", "clients": args.clients,
            "seconds": round(elapsed, 1), "rpcs": rpcs,
            "calls_per_s": rpcs["RecordCalls"]["count"] * BATCH / elapsed,
            "peak_rss_server_mb": round(sampler.peak_server_kb / 1024, 1),
            "peak_rss_total_mb": round(sampler.peak_total_kb / 1024, 1),
            "max_child_processes": sampler.max_children,
            "error_samples": [s for c in clients for s in c.error_samples][:10],
            "invoices": len(shared.invoices),
        }
        result["server_exit"] = stop(proc)
        if args.verify:
            t = time.monotonic()
            audit = subprocess.run([BILLING, "audit", "verify", "--database", url, "--json"],
                                   capture_output=True, text=True, timeout=1800)
            result["audit_exit"] = audit.returncode
            result["audit_seconds"] = round(time.monotonic() - t, 1)
            if audit.returncode:
                result["audit_output"] = (audit.stdout + audit.stderr)[-2000:]
    finally:
        sampler.done.set()
        stop(proc)
        if drop:
            drop()
    total_errors = sum(sum(r["errors"].values()) for r in result["rpcs"].values())
    ok = (total_errors == 0 and result["peak_rss_server_mb"] <= TARGET_SERVER_RSS_MB
          and result["server_exit"] == 0 and result.get("audit_exit", 0) == 0)
    result["targets_met"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"backend {result['backend']}, {args.clients} clients, {result['seconds']} s, "
              f"{result['invoices']} invoices in the store")
        print(f"{'rpc':<18}{'count':>8}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}  errors")
        for rpc, r in result["rpcs"].items():
            print(f"{rpc:<18}{r['count']:>8}{r['per_s']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}  "
                  f"{r['errors'] or 'none'}")
        print(f"calls ingested: {result['calls_per_s']:.0f}/s (batches of {BATCH})")
        print(f"peak RSS: server {result['peak_rss_server_mb']} MB (target <= {TARGET_SERVER_RSS_MB}), "
              f"server + {result['max_child_processes']} children {result['peak_rss_total_mb']} MB")
        for s in result["error_samples"]:
            print(f"error sample: {s}")
        if "audit_exit" in result:
            print(f"audit verify: exit {result['audit_exit']} in {result['audit_seconds']} s")
            if "audit_output" in result:
                print(result["audit_output"])
        print(f"server exit {result['server_exit']}" + ("" if ok else f"; server log kept: {log}"))
        print("targets met" if ok else "TARGETS MISSED")
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
