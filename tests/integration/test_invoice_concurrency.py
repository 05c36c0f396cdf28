"""Gap-free numbering and exact invoice totals under concurrent writers (threads and processes)."""
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import grpc
import pytest

from billing.v1 import invoice_pb2
from domain.invoice import compute_totals
from helpers import Stubs, call, create, credit, free_port, reseller, send, wait_until

BILLING = str(Path(sys.executable).parent / "billing")


def day(i: int) -> str:
    return (date(2026, 1, 1) + timedelta(days=i)).isoformat()


def assert_gap_free(numbers: list[str], first: int = 1) -> None:
    values = sorted(int(n) for n in numbers)
    assert values == list(range(first, first + len(numbers)))


def test_eight_threads_creating_fifty_invoices_each_get_consecutive_numbers(channel):
    stubs = Stubs(channel)
    for t in range(8):
        stubs.resellers.UpsertReseller(reseller(f"t{t}"))

    def worker(t):
        return [create(stubs, day(i), day(i), reseller_id=f"t{t}").number for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(worker, range(8)) for n in batch]
    assert len(numbers) == 400
    assert_gap_free(numbers)


def test_concurrent_creates_of_overlapping_periods_issue_exactly_one(channel):
    stubs = Stubs(channel)
    stubs.resellers.UpsertReseller(reseller())
    barrier = threading.Barrier(6)

    def attempt(i):
        barrier.wait()
        try:
            return create(stubs, "2026-03-01", f"2026-03-{10 + i}").number
        except grpc.RpcError as e:
            return e.code()
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    issued = [o for o in outcomes if isinstance(o, str)]
    assert len(issued) == 1 and outcomes.count(grpc.StatusCode.FAILED_PRECONDITION) == 5


def test_calls_racing_invoice_creation_are_either_in_the_invoice_or_late(channel, server):
    """Each invoice equals exactly the calls of its period stored before it (its batch watermark)."""
    stubs = Stubs(channel)
    stubs.resellers.UpsertReseller(reseller())
    stop = threading.Event()
    sent = []

    def ingest(t):
        i = 0
        while not stop.is_set():
            batch = [call(f"c{t}-{i}-{k}", started=f"2026-03-{1 + (i + k) % 28:02d}T12:00:00Z", amount="0.01")
                     for k in range(20)]
            sent.append(send(stubs, batch))
            i += 1
    threads = [threading.Thread(target=ingest, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    invoices = []
    try:
        wait_until(lambda: len(sent) >= 5, 60, "five call batches to land before the first invoice")
        for _ in range(5):
            inv = create(stubs, "2026-03-01", "2026-03-31")
            invoices.append(inv)
            stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id, reason="again"))
    finally:
        stop.set()
        for t in threads:
            t.join()
    invoicing = server.use_cases.invoicing
    for inv in invoices:
        covers_through = invoicing.get(UUID(inv.invoice_id))[0].covers_through
        rows, = invoicing.ledger.covered_usages([("r1", date(2026, 3, 1), date(2026, 3, 31), covers_through)])
        assert compute_totals(rows, "EUR", "0.19").subtotal == inv.subtotal
    assert len(invoices) == 5 and sum(r.accepted for r in sent) > 0


@pytest.mark.postgres
def test_two_server_processes_on_one_postgres_number_invoices_and_credit_notes_gap_free(postgres_url):
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{p}", "--database", postgres_url],
                              stderr=subprocess.DEVNULL, env={**os.environ}) for p in ports]
    channels = [grpc.insecure_channel(f"127.0.0.1:{p}") for p in ports]
    try:
        for ch in channels:
            grpc.channel_ready_future(ch).result(timeout=30)
        stubs = [Stubs(ch) for ch in channels]
        for r in range(8):
            stubs[0].resellers.UpsertReseller(reseller(f"p{r}"))
            send(stubs[0], [call(f"p{r}-{i}", reseller_id=f"p{r}", started=f"{day(i)}T12:00:00Z", amount="1")
                            for i in range(25)])  # one call a day: every invoice has something to credit

        def worker(r):  # 8 clients, alternating between the two processes, 25 invoices each
            s = stubs[r % 2]
            return [create(s, day(i), day(i), reseller_id=f"p{r}").number for i in range(25)]
        with ThreadPoolExecutor(8) as pool:
            numbers = [n for batch in pool.map(worker, range(8)) for n in batch]
        assert len(numbers) == 200
        assert_gap_free(numbers)

        # the credit-notes series, advanced from both processes at once, is gap-free too
        invoices = stubs[0].invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(page_size=100)).invoices

        def crediting(k):
            return [credit(stubs[k % 2], inv.invoice_id).number for inv in invoices[k::8]]
        with ThreadPoolExecutor(8) as pool:
            notes = [n for batch in pool.map(crediting, range(8)) for n in batch]
        assert sorted(int(n.removeprefix("CN-")) for n in notes) == list(range(1, 101))
    finally:
        for ch in channels:
            ch.close()
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
