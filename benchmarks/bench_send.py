"""bench_send: send a 2,000-customer round into a local SMTP sink, against a bare smtplib loop.

The sink is aiosmtpd in its own process (so its CPU is not charged to the
client). The baseline sends the same number of pre-built messages of the
same size over one connection with plain smtplib; csat's run also opens the
round, creates the invitations, renders a signed xlsx form and an HTML and
text e-mail per customer, and commits each outcome on its own. Target: at
most 3x the baseline.

Run: python -m benchmarks.bench_send [COUNT]
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from csat.periods import Half

TARGET = 3.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def sink():
    """aiosmtpd's Sink handler in a child process on 127.0.0.1; yields its port."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                                "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.recv(100)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the aiosmtpd sink did not start")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _workspace(folder: Path, count: int, port: int):
    from sqlalchemy import insert

    from csat.config import Workspace
    from csat.store.engine import open_store
    from csat.store.models import Customer
    from csat.workspace import config_set, create

    create(folder, company="Bench Precision Co.", lang="en")
    workspace = Workspace.open(folder)
    for key, value in (("mail.smtp_host", "127.0.0.1"), ("mail.smtp_port", str(port)), ("mail.security", "none")):
        config_set(workspace, key, value)
    store = open_store(workspace)
    rows = [{"code": f"C-{number:05d}", "name": f"Customer {number} Manufacturing Ltd", "contact": f"Buyer {number}",
             "email": f"buyer{number}@customer{number}.example", "language": "zh" if number % 3 == 0 else "en"}
            for number in range(count)]
    with store.session() as session:
        session.execute(insert(Customer), rows)
    return workspace, store


def _baseline(port: int, count: int, size: int) -> float:
    """A bare smtplib loop: pre-built messages of `size` bytes over one connection."""
    body = b"X" * 76 + b"\r\n"
    header = b"From: quality@example.com\r\nTo: buyer@customer.example\r\nSubject: baseline\r\n\r\n"
    message = header + body * max(1, (size - len(header)) // len(body))
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench", timeout=30) as connection:
        for number in range(count):
            connection.sendmail("quality@example.com", [f"buyer{number}@customer{number}.example"], message)
    return time.perf_counter() - started


def main(count: int = 2000) -> float:
    from csat.store.engine import dispose_engines
    from csat.survey import rounds
    from csat.survey import send as survey

    os.environ.pop("CSAT_SECRET", None)
    with tempfile.TemporaryDirectory(prefix="csat-bench-send-") as folder, sink() as port:
        workspace, store = _workspace(Path(folder) / "ws", count, port)
        with store.session() as session:
            forms = survey.RoundForms.load(session, workspace, rounds.open_round(session, Half.parse("2024H1")))
            recipient = survey.Recipient(1, "t" * 25, "C-00001", "Customer 1 Manufacturing Ltd", "Buyer 1",
                                         "buyer1@customer1.example", "en")
            size = len(forms.message(recipient).as_bytes())
        # The machine is shared: the baseline runs before and after, and the ratio uses their mean.
        before = _baseline(port, count, size)
        started = time.perf_counter()
        report = survey.send_round(workspace, store, "2024H1")
        elapsed = time.perf_counter() - started
        after = _baseline(port, count, size)
        dispose_engines()
    if len(report.sent) != count:
        raise RuntimeError(f"sent {len(report.sent)} of {count}: {report.failed[:3]}")
    baseline = (before + after) / 2
    ratio = elapsed / baseline
    print(f"bench_send: {count} invitations in {elapsed:.2f}s; bare smtplib {count} x {size} B "
          f"in {before:.2f}s / {after:.2f}s")
    print(f"bench_send: ratio {ratio:.2f} (target <= {TARGET:g})")
    return ratio


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
