"""Mixed load: one real `billing serve`, 16 concurrent clients, loopback only.

    .venv/bin/python bench/load.py [--quick | --seconds 30] [--clients 16] [--resellers 20]
                                   [--postgres [ADMIN_URL]] [--verify] [--json] [--seed N]

Starts `billing serve` on 127.0.0.1 with a fresh SQLite file (with --postgres: a throw-away
database billing_bench_<random> on ADMIN_URL's server, default postgresql://postgres@127.0.0.1:5432/test,
dropped at the end), prepares the resellers, a default template and one invoice per reseller,
then runs `--clients` threads for `--seconds` (30; 10 with --quick), each picking at random
(weights 45/20/25/10) among:

- RecordCalls: one stream with one CallBatch of 100 calls (unique ids, a year of start times);
  the response must count all 100 accepted;
- CreateInvoice: a one-day period never invoiced before for that reseller, with a request_id;
- SearchInvoices: one or two random words (reseller name words, existing invoice numbers);
- RenderInvoicePdf: an existing invoice. Nothing renders before the load starts, so a render
  worker that is still cold when the first request comes shows up in p99.

Afterwards, on the same server, a reference: the same RPCs from one client with no other load
(the baseline the loaded latencies are compared with). Prints per RPC: count, throughput,
p50/p99 (ms) loaded and unloaded, errors by status; calls ingested per second; the peak RSS
of the server alone and of the server plus its descendants (render workers), sampled from
/proc every 0.5 s. Goals (issue #11): CreateInvoice p50 <= 50 ms and p99 <= 250 ms,
RenderInvoicePdf p99 <= 300 ms, zero errors; server peak RSS <= 200 MB (first release).
Exit status 1 if any RPC failed or the server did not exit cleanly (a broken run).
`--verify` stops the server and runs `billing audit verify` on the store afterwards.
The clients share the machine with the server: on few cores the figures include client CPU.
"""
from __future__ import annotations

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
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BILLING, CHANNEL_OPTIONS, DEFAULT_POSTGRES, billing_argv, busy_note,  # noqa: E402,F401
                    create_postgres_database, pb_date, percentile, postgres_database, print_goal, print_header,
                    print_table, rss_kb, serve, stop)

from billing.v1 import (invoice_pb2, invoice_pb2_grpc, reseller_pb2, reseller_pb2_grpc, template_pb2,  # noqa: E402
                        template_pb2_grpc, types_pb2, usage_pb2, usage_pb2_grpc)

# create_postgres_database is imported above for bench/projections.py, which imports it from here.
BATCH = 100
RPCS = ["RecordCalls", "CreateInvoice", "SearchInvoices", "RenderInvoicePdf"]
WEIGHTS = [45, 20, 25, 10]
RPC_TIMEOUT = 60.0
SECONDS, SECONDS_QUICK = 30.0, 10.0
REFERENCE_REQUESTS = 30
GOAL_CREATE_P50_MS, GOAL_CREATE_P99_MS, GOAL_RENDER_P99_MS = 50, 250, 300
GOAL_SERVER_RSS_MB = 200
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


# ---- server memory -----------------------------------------------------------------------
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
    """Peak RSS of the server alone and with its descendants, sampled every `interval` s."""

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

    def finish(self) -> None:
        self.done.set()
        self.join()
        self.sample()


# ---- the workload ------------------------------------------------------------------------
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
    """One client: `call(rpc)` issues one request and records its latency or error; `run` calls
    random RPCs until the deadline."""

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
            self.call(self.rng.choices(RPCS, WEIGHTS)[0])

    def call(self, rpc: str) -> None:
        request = getattr(self, "prepare_" + rpc)()
        if request is None:
            return
        method = getattr(self.usage if rpc == "RecordCalls" else self.invoices, rpc)
        t0 = time.perf_counter()
        try:
            response = method(request, timeout=RPC_TIMEOUT)
        except grpc.RpcError as e:
            self.error(rpc, e.code().name, e.details())
            return
        self.latencies[rpc].append(time.perf_counter() - t0)
        self.check(rpc, response)

    def check(self, rpc: str, response) -> None:
        if rpc == "CreateInvoice":
            self.shared.add_invoice(response)
        elif rpc == "RecordCalls" and (response.rejected or response.accepted != BATCH):
            self.error(rpc, "WRONG_COUNTS", f"accepted {response.accepted} of {BATCH}, "
                                            f"rejected {list(response.rejected)[:1]}")
        elif rpc == "RenderInvoicePdf" and not response.content.startswith(b"%PDF"):
            self.error(rpc, "NOT_A_PDF", f"{len(response.content)} bytes")

    def error(self, rpc: str, kind: str, detail: str) -> None:
        self.errors[rpc][kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{rpc}: {kind}: {detail}")

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
                                                period=types_pb2.Period(start_date=pb_date(day), end_date=pb_date(day)))

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


def reseller_names(n: int) -> list[tuple[str, str]]:
    return [(f"load-{i:03d}", f"{CITIES[i % len(CITIES)]} {KINDS[i % len(KINDS)]} {i:03d}") for i in range(n)]


def prepare(channel, shared: Shared) -> None:
    """Resellers, a default template, and per reseller 20 calls and one invoice (no render)."""
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
    for rid, _ in shared.resellers:
        day = shared.claim_day(rid)
        batch = usage_pb2.CallBatch()
        for k in range(20):
            c = batch.calls.add(call_id=f"prep-{rid}-{k}", reseller_id=rid, billed_seconds=60, destination="4930",
                                destination_group=rng.choice(GROUPS), amount="0.0125", currency="EUR")
            c.started_at.seconds = 1735689600 + (day - date(2025, 1, 1)).days * 86400 + 43200
        usage.RecordCalls(iter([batch]), timeout=RPC_TIMEOUT)
        shared.add_invoice(invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(
            reseller_id=rid, request_id=f"prep-{rid}", period=types_pb2.Period(start_date=pb_date(day),
                                                                               end_date=pb_date(day))),
            timeout=RPC_TIMEOUT))


# ---- the runs ----------------------------------------------------------------------------
def mixed_load(channel, shared: Shared, clients: int, seconds: float, seed: int) -> tuple[list[Client], float]:
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    threads = [Client(n, channel, shared, deadline, rng.getrandbits(32)) for n in range(clients)]
    t0 = time.monotonic()
    for c in threads:
        c.start()
    for c in threads:
        c.join()
    return threads, time.monotonic() - t0


def unloaded_reference(channel, shared: Shared, requests: int, seed: int) -> Client:
    """The same RPCs from one client with nothing else running: `requests` of each, in turn."""
    client = Client(-1, channel, shared, 0.0, seed)
    for _ in range(requests):
        for rpc in RPCS:
            client.call(rpc)
    return client


def rpc_figures(clients: list[Client], elapsed: float) -> dict[str, dict]:
    out = {}
    for rpc in RPCS:
        lat = [x for c in clients for x in c.latencies[rpc]]
        errs = Counter()
        for c in clients:
            errs.update(c.errors[rpc])
        out[rpc] = {"count": len(lat), "per_s": len(lat) / elapsed, "p50_ms": percentile(lat, 50) * 1000,
                    "p99_ms": percentile(lat, 99) * 1000, "errors": dict(errs)}
    return out


def audit_verify(database: str) -> dict:
    t = time.monotonic()
    audit = subprocess.run([BILLING, "audit", "verify", "--database", database, "--json"],
                           capture_output=True, text=True, timeout=1800)
    out = {"audit_exit": audit.returncode, "audit_seconds": round(time.monotonic() - t, 1)}
    if audit.returncode:
        out["audit_output"] = (audit.stdout + audit.stderr)[-2000:]
    return out


def run(args, database: str, log: Path) -> dict:
    """Start the server, prepare, run the mixed load and the reference, stop it; all figures."""
    shared = Shared(reseller_names(args.resellers))
    with serve("billing serve", lambda port: billing_argv(port, database), log) as server:
        sampler = RssSampler(server.pid)
        with grpc.insecure_channel(server.target, options=CHANNEL_OPTIONS) as channel:
            prepare(channel, shared)
            sampler.start()
            clients, elapsed = mixed_load(channel, shared, args.clients, args.seconds, args.seed)
            sampler.finish()
            reference = unloaded_reference(channel, shared, args.reference, args.seed + 1)
        result = {
            "backend": "postgresql" if args.postgres else "sqlite", "clients": args.clients,
            "seconds": round(elapsed, 1), "rpcs": rpc_figures(clients, elapsed),
            "unloaded": rpc_figures([reference], 1.0),
            "calls_per_s": sum(len(c.latencies["RecordCalls"]) for c in clients) * BATCH / elapsed,
            "peak_rss_server_mb": round(sampler.peak_server_kb / 1024, 1),
            "peak_rss_total_mb": round(sampler.peak_total_kb / 1024, 1),
            "max_child_processes": sampler.max_children,
            "error_samples": [s for c in [*clients, reference] for s in c.error_samples][:10],
            "invoices": len(shared.invoices),
            "server_exit": stop(server.proc),
        }
    if args.verify:
        result.update(audit_verify(database))
    return result


# ---- the report --------------------------------------------------------------------------
def total_errors(result: dict) -> int:
    return sum(sum(r["errors"].values()) for part in ("rpcs", "unloaded") for r in result[part].values())


def goals(result: dict) -> dict[str, bool]:
    create, render = result["rpcs"]["CreateInvoice"], result["rpcs"]["RenderInvoicePdf"]
    return {"create_p50": create["p50_ms"] <= GOAL_CREATE_P50_MS,
            "create_p99": create["p99_ms"] <= GOAL_CREATE_P99_MS,
            "render_p99": render["p99_ms"] <= GOAL_RENDER_P99_MS,
            "zero_errors": total_errors(result) == 0,
            "server_rss": result["peak_rss_server_mb"] <= GOAL_SERVER_RSS_MB}


def print_report(result: dict, met: dict[str, bool]) -> None:
    print(f"backend {result['backend']}, {result['clients']} clients for {result['seconds']} s, "
          f"{result['invoices']} invoices in the store at the end; {busy_note()}")
    rows = []
    for rpc, r in result["rpcs"].items():
        ref = result["unloaded"][rpc]
        rows.append([rpc, r["count"], f"{r['per_s']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
                     f"{ref['p50_ms']:.1f}", f"{ref['p99_ms']:.1f}", f"{r['p50_ms'] / ref['p50_ms']:.1f}x",
                     r["errors"] or "none"])
    print_table(["rpc", "count", "per s", "p50 ms", "p99 ms", "unloaded p50", "unloaded p99", "p50 loaded/unloaded",
                 "errors"], rows)
    print(f"  (unloaded: the same server after the load, one client, {REFERENCE_REQUESTS} requests of each)")
    print(f"calls ingested under load: {result['calls_per_s']:,.0f}/s (batches of {BATCH})")
    print(f"peak RSS: server {result['peak_rss_server_mb']} MB; server + {result['max_child_processes']} "
          f"children (render workers) {result['peak_rss_total_mb']} MB")
    create, render = result["rpcs"]["CreateInvoice"], result["rpcs"]["RenderInvoicePdf"]
    print_goal("CreateInvoice p50", f"{create['p50_ms']:.1f} ms", f"<= {GOAL_CREATE_P50_MS} ms", met["create_p50"])
    print_goal("CreateInvoice p99", f"{create['p99_ms']:.1f} ms", f"<= {GOAL_CREATE_P99_MS} ms", met["create_p99"])
    print_goal("RenderInvoicePdf p99", f"{render['p99_ms']:.1f} ms", f"<= {GOAL_RENDER_P99_MS} ms",
               met["render_p99"])
    print_goal("errors", str(total_errors(result)), "0", met["zero_errors"])
    print_goal("server peak RSS (first release)", f"{result['peak_rss_server_mb']} MB", f"<= {GOAL_SERVER_RSS_MB} MB",
               met["server_rss"])
    for s in result["error_samples"]:
        print(f"error sample: {s}")
    if "audit_exit" in result:
        print(f"audit verify: exit {result['audit_exit']} in {result['audit_seconds']} s")
        if "audit_output" in result:
            print(result["audit_output"])
    print(f"server exit {result['server_exit']}")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=SECONDS)
    ap.add_argument("--quick", action="store_true", help=f"{SECONDS_QUICK:.0f} s")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--resellers", type=int, default=20)
    ap.add_argument("--reference", type=int, default=REFERENCE_REQUESTS, help="unloaded requests per RPC")
    ap.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, metavar="ADMIN_URL",
                    help="run on PostgreSQL: a throw-away database on ADMIN_URL's server "
                         f"(default {DEFAULT_POSTGRES}), dropped afterwards")
    ap.add_argument("--verify", action="store_true", help="run `billing audit verify` on the store afterwards")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds = SECONDS_QUICK
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 3600 or not 1 <= args.resellers <= 1000:
        ap.error("--clients 1..256, --seconds 0..3600, --resellers 1..1000")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.json:
        print_header(f"Mixed load: {args.clients} clients for {args.seconds:.0f} s on "
                     f"{'PostgreSQL' if args.postgres else 'SQLite'}, one `billing serve`",
                     f"mix RecordCalls/CreateInvoice/SearchInvoices/RenderInvoicePdf = "
                     f"{'/'.join(map(str, WEIGHTS))}, {args.resellers} resellers")
    tmp = Path(tempfile.mkdtemp(prefix="billing-load-"))
    with postgres_database(args.postgres) if args.postgres else nullcontext(f"sqlite:///{tmp / 'load.db'}") as db:
        result = run(args, db, tmp / "server.log")
    met = goals(result)
    broken = total_errors(result) > 0 or result["server_exit"] != 0 or result.get("audit_exit", 0) != 0
    result["goals_met"], result["broken"] = met, broken
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result, met)
        print("all goals met" if all(met.values()) else
              "GOALS MISSED: " + ", ".join(k for k, ok in met.items() if not ok))
    if broken:
        print(f"BROKEN RUN (errors or unclean exit): server log kept in {tmp}")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
