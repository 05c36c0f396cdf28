"""Crash recovery: SIGKILL a real `billing serve` while clients ingest calls and create invoices.

Each round starts the server on the same store, runs client threads that stream RecordCalls
batches and CreateInvoice requests (with request ids), and kills the server with SIGKILL after a
random number of acknowledged operations (seeded RNG: a fault-injection point, not a sleep that
papers over a race). After the last round the test restarts the server once more and checks:

1. every acknowledged call is stored: re-sending it comes back as a duplicate (never accepted);
   a batch of unknown outcome is all-or-nothing (re-sent: all accepted or all duplicates);
2. every acknowledged invoice is retrievable with the same number and total; re-sending an
   unknown-outcome CreateInvoice with its request_id returns one invoice (never a second number);
3. numbers are unique and gap-free over all invoices (ListInvoices, all pages);
4. no half-written invoice: each listed invoice is readable and its history starts with Invoice.Issued;
5. after SIGTERM, `billing audit verify` on the store exits 0.

It runs in two sizes: `smoke` (one round, in every run) and `full` (BILLING_CRASH_ROUNDS rounds, default 3;
marked `slow`: CI runs it, a plain `make test` does not). BILLING_CRASH_SEED sets the seed.
"""
import os
import random
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from billing.v1 import invoice_pb2, usage_pb2
from helpers import Stubs, call, create, credit, free_port, period, reseller, wait_until

BILLING = str(Path(sys.executable).parent / "billing")
ROUNDS = int(os.environ.get("BILLING_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("BILLING_CRASH_SEED", "20260310"))
CLIENTS = 4
BATCH = 50
RPC_TIMEOUT = 20.0
EXPECTED_FAILURES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
                     grpc.StatusCode.UNKNOWN}  # UNKNOWN: the stream broke mid-RPC


def day(i: int) -> str:
    return (date(2026, 1, 1) + timedelta(days=i)).isoformat()


@dataclass
class Client:
    """One client thread's state; survives the server's restarts."""
    reseller_id: str
    next_day: int = 0
    next_batch: int = 0
    acked_calls: list = field(default_factory=list)        # Call protos of acknowledged batches
    unknown_batches: list = field(default_factory=list)    # lists of Call protos (outcome unknown)
    acked_invoices: list = field(default_factory=list)     # (request_id, day, number, invoice_id, total)
    unknown_invoices: list = field(default_factory=list)   # (request_id, day)
    acked_notes: list = field(default_factory=list)        # (request_id, invoice_id, number, total)
    unknown_notes: list = field(default_factory=list)      # (request_id, invoice_id)
    unexpected: list = field(default_factory=list)         # (rpc, status, details): a failure not due to the kill


class Server:
    def __init__(self, url: str, log_path: Path):
        self.url, self.log_path, self.proc, self.port = url, log_path, None, None

    def start(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{self.port}",
                                          "--database", self.url, "--grace-seconds", "5"],
                                         stdout=log, stderr=log, env={**os.environ})
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as ch:
            wait_until(lambda: self.serving(health_pb2_grpc.HealthStub(ch)), 60, "the server to be SERVING")

    def serving(self, health) -> bool:
        assert self.proc.poll() is None, f"server exited with {self.proc.returncode}: {self.log()}"
        try:
            return health.Check(health_pb2.HealthCheckRequest(), timeout=1, wait_for_ready=True).status \
                == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def client_loop(client: Client, stubs: Stubs, stop: threading.Event, acked: list, progress: threading.Condition,
                rng: random.Random) -> None:
    """Until stop: 1-3 call batches, then one one-day invoice; record what was acknowledged."""
    while not stop.is_set():
        for _ in range(rng.randint(1, 3)):
            b = client.next_batch
            client.next_batch += 1
            batch = [call(f"{client.reseller_id}-b{b}-c{k}", reseller_id=client.reseller_id,
                          started=f"{day(rng.randrange(0, 60))}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
                          amount=f"0.{rng.randrange(10**6):06d}", seconds=rng.randrange(1, 3600),
                          group=rng.choice(["Germany Mobile", "Germany Fixed", "France Mobile"]))
                     for k in range(BATCH)]
            try:
                response = stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=batch)]), timeout=RPC_TIMEOUT)
            except grpc.RpcError as e:
                client.unknown_batches.append(batch)
                if e.code() not in EXPECTED_FAILURES:
                    client.unexpected.append(("RecordCalls", e.code(), e.details()))
                stop.wait(0.02)
                continue
            if response.accepted != BATCH or response.rejected:
                client.unexpected.append(("RecordCalls", "accepted", str(response)))
            client.acked_calls += batch
            with progress:
                acked[0] += 1
                progress.notify_all()
            if stop.is_set():
                return
        d = client.next_day
        client.next_day += 1
        request_id = f"{client.reseller_id}-day-{d}"
        try:
            inv = stubs.invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(
                reseller_id=client.reseller_id, request_id=request_id, period=period(day(d), day(d))),
                timeout=RPC_TIMEOUT)
        except grpc.RpcError as e:
            client.unknown_invoices.append((request_id, d))
            if e.code() not in EXPECTED_FAILURES:
                client.unexpected.append(("CreateInvoice", e.code(), e.details()))
            stop.wait(0.02)
            continue
        client.acked_invoices.append((request_id, d, inv.number, inv.invoice_id, inv.total))
        with progress:
            acked[0] += 1
            progress.notify_all()
        if d % 3 == 2 and not stop.is_set():  # every third invoice is corrected by a full credit note
            credit_once(client, stubs, inv.invoice_id, f"{client.reseller_id}-cn-{d}", stop)


def credit_once(client: Client, stubs: Stubs, invoice_id: str, request_id: str, stop: threading.Event) -> None:
    try:
        note = credit(stubs, invoice_id, reason="crash test", request_id=request_id)
    except grpc.RpcError as e:
        client.unknown_notes.append((request_id, invoice_id))
        if e.code() not in EXPECTED_FAILURES:
            client.unexpected.append(("IssueCreditNote", e.code(), e.details()))
        stop.wait(0.02)
        return
    client.acked_notes.append((request_id, invoice_id, note.number, note.total))


def run_round(server: Server, clients: list[Client], rng: random.Random) -> int:
    """Start the server, run the clients, SIGKILL after a random number of acknowledged operations."""
    server.start()
    stop, progress, acked = threading.Event(), threading.Condition(), [0]
    kill_after = rng.randint(5, 80)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stubs = Stubs(channel)
    threads = [threading.Thread(target=client_loop, args=(c, stubs, stop, acked, progress,
                                                          random.Random(rng.random())), daemon=True)
               for c in clients]
    try:
        for t in threads:
            t.start()
        # The other clients are mid-operation when the kill_after-th acknowledgement arrives: the kill
        # lands inside their RPCs.
        with progress:
            assert progress.wait_for(lambda: acked[0] >= kill_after, timeout=120), \
                f"only {acked[0]} of {kill_after} operations acknowledged\n{server.log()}"
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=RPC_TIMEOUT + 10)
            assert not t.is_alive(), "client thread hangs after the server was killed"
    finally:
        stop.set()
        channel.close()
        if server.proc.poll() is None:
            server.kill()
    return acked[0]


def all_invoices(stubs: Stubs, min_position: int) -> list:
    out, token = [], ""
    while True:
        page = stubs.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(
            page_size=500, page_token=token, min_position=min_position), timeout=30)
        out += page.invoices
        token = page.next_page_token
        if not token:
            return out


def chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i:i + n]


@pytest.mark.parametrize("rounds", [pytest.param(1, id="smoke"),
                                    pytest.param(ROUNDS, id="full", marks=pytest.mark.slow)])
def test_sigkill_mid_traffic_loses_no_acknowledged_write_and_leaves_a_clean_store(database_url, tmp_path, rounds):
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'crash.db'}"  # a file: it must survive the process
    rng = random.Random(SEED)
    server = Server(database_url, tmp_path / "server.log")
    clients = [Client(f"crash-r{i}") for i in range(CLIENTS)]

    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        for c in clients:
            Stubs(ch).resellers.UpsertReseller(reseller(c.reseller_id, name=f"Crash Reseller {c.reseller_id}",
                                                        time_zone="UTC"), timeout=RPC_TIMEOUT)
    server.kill()  # even the set-up ends in a crash

    acked_per_round = [run_round(server, clients, rng) for _ in range(rounds)]
    assert sum(acked_per_round) > 0, "no operation was acknowledged at all"
    unexpected = [u for c in clients for u in c.unexpected]
    assert not unexpected, f"unexpected failures: {unexpected[:5]}\n{server.log()}"

    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            stubs = Stubs(ch)
            # (1) acknowledged calls are all stored: re-sent, each is a duplicate
            acked_calls = [x for c in clients for x in c.acked_calls]
            for part in chunks(acked_calls, 5000):
                r = stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=part)]), timeout=60)
                assert (r.accepted, r.duplicates, len(r.rejected)) == (0, len(part), 0), \
                    f"acknowledged calls lost or changed: {r}"
            # ... and a batch of unknown outcome was stored all or nothing
            committed_batches = 0
            for batch in (b for c in clients for b in c.unknown_batches):
                r = stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=batch)]), timeout=60)
                assert not r.rejected and (r.accepted, r.duplicates) in ((BATCH, 0), (0, BATCH)), \
                    f"a batch was half stored: {r}"
                committed_batches += r.duplicates == BATCH
            # a fresh write's position is past every event stored before the restart
            mark = stubs.resellers.UpsertReseller(reseller("crash-marker", time_zone="UTC"), timeout=RPC_TIMEOUT)
            before_resend = len(all_invoices(stubs, mark.position))

            # (2) acknowledged invoices kept their number and total
            positions = []
            credited = {invoice_id for c in clients for _, invoice_id, *_ in c.acked_notes + c.unknown_notes}
            for c in clients:
                for request_id, d, number, invoice_id, total in c.acked_invoices:
                    inv = stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=invoice_id),
                                                    timeout=RPC_TIMEOUT)
                    assert (inv.number, inv.total) == (number, total)
                    assert inv.status == invoice_pb2.INVOICE_STATUS_ISSUED or invoice_id in credited
                    again = create(stubs, day(d), day(d), reseller_id=c.reseller_id, request_id=request_id)
                    assert (again.invoice_id, again.number, again.total) == (invoice_id, number, total)
                    positions.append(inv.position)
            # unknown outcomes: re-sent with the request id, exactly one invoice per request
            resent = {}
            for c in clients:
                for request_id, d in c.unknown_invoices:
                    first = create(stubs, day(d), day(d), reseller_id=c.reseller_id, request_id=request_id)
                    second = create(stubs, day(d), day(d), reseller_id=c.reseller_id, request_id=request_id)
                    assert (first.invoice_id, first.number) == (second.invoice_id, second.number)
                    resent[request_id] = first.number
                    positions.append(max(first.position, second.position))

            # (3) numbers unique and gap-free over every invoice
            listed = all_invoices(stubs, max(positions, default=0))
            numbers = [int(i.number) for i in listed]
            assert len(numbers) == len(set(numbers)), "duplicate invoice numbers"
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap in numbers: {sorted(numbers)}"
            n_requests = sum(len(c.acked_invoices) + len(c.unknown_invoices) for c in clients)
            assert len(listed) == n_requests, "an invoice per request id, no more, no fewer"
            # every request id maps to one listed number
            acked_numbers = {n for c in clients for _, _, n, _, _ in c.acked_invoices}
            assert acked_numbers | set(resent.values()) == {i.number for i in listed}

            # (3b) acknowledged credit notes kept; unknown ones re-sent give one note per request id;
            # their own series is gap-free and every credited invoice credited exactly once
            note_numbers = []
            for c in clients:
                for request_id, invoice_id, number, total in c.acked_notes:
                    again = credit(stubs, invoice_id, reason="crash test", request_id=request_id)
                    assert (again.number, again.total) == (number, total)
                    note_numbers.append(number)
                for request_id, invoice_id in c.unknown_notes:
                    first = credit(stubs, invoice_id, reason="crash test", request_id=request_id)
                    second = credit(stubs, invoice_id, reason="crash test", request_id=request_id)
                    assert first.credit_note_id == second.credit_note_id
                    note_numbers.append(first.number)
            sequence = sorted(int(n.removeprefix("CN-")) for n in note_numbers)
            assert sequence == list(range(1, len(sequence) + 1)), f"gap in credit note numbers: {sequence}"
            for invoice_id in credited:
                inv = stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=invoice_id))
                assert inv.status == invoice_pb2.INVOICE_STATUS_CREDITED and inv.credited_total == inv.total

            # (4) no half-written invoice
            for inv in listed:
                got = stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(number=inv.number), timeout=RPC_TIMEOUT)
                assert (got.invoice_id, got.total) == (inv.invoice_id, inv.total)
                history = stubs.invoices.GetInvoiceHistory(
                    invoice_pb2.GetInvoiceHistoryRequest(invoice_id=inv.invoice_id), timeout=RPC_TIMEOUT)
                assert history.events and history.events[0].type == "Invoice.Issued"
    finally:
        # (5) a clean shutdown, then the store audits clean
        assert server.terminate() == 0, server.log()

    audit = subprocess.run([BILLING, "audit", "verify", "--database", database_url, "--json"],
                           capture_output=True, text=True, timeout=300)
    assert audit.returncode == 0, f"audit verify exit {audit.returncode}:\n{audit.stdout}\n{audit.stderr}"
    print(f"rounds={rounds} acked_ops={acked_per_round} calls={len(acked_calls)} "
          f"invoices={len(listed)} unknown_batches={sum(len(c.unknown_batches) for c in clients)} "
          f"unknown_invoices={len(resent)} (committed before the kill: {committed_batches} batches, "
          f"{before_resend - len(acked_numbers)} invoices)")
