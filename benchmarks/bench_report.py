"""Speed case: `csat report --half P --format json` on a store with 1,000,000 answers.

The store (20 items, 4 rounds, 12,500 responses a round) is created through
csat's own migrations and filled with stdlib sqlite3 executemany. The baseline
is the bare SQLite query a report cannot avoid: count, sum and sum of squares
per item and round, run by a fresh Python process. Both are timed as whole
processes (medians). The ratio subtracts csat's start-up, taken as the time of
a trivial command that opens the same store (`csat items list --format json`:
interpreter, CLI, SQLModel and the store's schema check), the fixed cost every
csat command pays; the bare interpreter start (`csat --version`) is printed too.

Run: python -m benchmarks.bench_report [--answers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 3.0
ITEMS = 20
ROUNDS = ["2023H1", "2023H2", "2024H1", "2024H2"]
RESPONDENTS_PER_CUSTOMER = 5

BARE_QUERY = """
SELECT r.round_id, a.item_id, COUNT(a.score), SUM(a.score), SUM(a.score * a.score)
FROM answer a JOIN response r ON r.id = a.response_id
WHERE a.score IS NOT NULL AND a.not_applicable = 0
GROUP BY r.round_id, a.item_id
"""


def build_store(folder: Path, answers: int = 1_000_000, seed: int = 7) -> Path:
    """A workspace whose store holds `answers` answers over 20 items and 4 rounds; returns the db file."""
    from csat.config import Workspace
    from csat.periods import Half
    from csat.registry import items
    from csat.store.engine import dispose_engines, open_store
    from csat.survey.rounds import open_round
    from csat.workspace import create

    create(folder, company="Benchmark Co.")
    workspace = Workspace.open(folder)
    store = open_store(workspace)
    specs = [items.ItemSpec(code=f"item_{number:02d}", label_en=f"Item {number}", label_zh=f"项目{number}",
                            weight=1.0 + (number % 3) * 0.5) for number in range(1, ITEMS + 1)]
    with store.session() as session:
        items.load_template(session, specs, replace=True)
        for period in ROUNDS:
            open_round(session, Half.parse(period))
    dispose_engines()
    database = Path(workspace.database_url.removeprefix("sqlite:///"))
    per_round = answers // (ITEMS * len(ROUNDS))
    customers = max(1, per_round // RESPONDENTS_PER_CUSTOMER)
    rng = random.Random(seed)
    connection = sqlite3.connect(database)
    with connection:
        connection.executemany(
            "INSERT INTO customer (id, code, name, contact, email, phone, segment, language, active, created_at, updated_at)"
            " VALUES (?, ?, ?, '', '', '', '', 'en', 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
            ((number, f"B-{number:05d}", f"Customer {number}") for number in range(1, customers + 1)))
        round_ids = [row[0] for row in connection.execute("SELECT id FROM survey_round ORDER BY period")]
        item_ids = [row[0] for row in connection.execute(
            "SELECT item_id FROM round_item WHERE round_id = ? ORDER BY position", (round_ids[0],))]
        connection.executemany(
            "INSERT INTO invitation (round_id, customer_id, token, email, status, message_id, error, reminders, created_at)"
            " VALUES (?, ?, ?, '', 'sent', '', '', 0, '2024-01-01 00:00:00')",
            ((round_id, customer, f"t{round_id}-{customer}") for round_id in round_ids
             for customer in range(1, customers + 1)))
        response_id = 0
        responses, rows = [], []
        for round_number, round_id in enumerate(round_ids):
            for index in range(per_round):
                response_id += 1
                customer = index % customers + 1
                responses.append((response_id, round_id, customer, f"respondent {index // customers}"))
                base = rng.gauss(88 - round_number, 6)
                for item_number, item_id in enumerate(item_ids):
                    draw = rng.random()
                    if draw < 0.01:
                        rows.append((response_id, item_id, None, 1))
                    elif draw < 0.02:
                        rows.append((response_id, item_id, None, 0))
                    else:
                        score = min(100.0, max(0.0, round(base + rng.gauss(item_number % 5 - 2, 8))))
                        rows.append((response_id, item_id, score, 0))
        connection.executemany(
            "INSERT INTO response (id, round_id, customer_id, respondent, respondent_title, comment, source,"
            " source_file, content_hash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '', '', 'sheet', '', '', '2024-01-01 00:00:00', '2024-01-01 00:00:00')", responses)
        connection.executemany(
            "INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment) VALUES (?, ?, ?, ?, '', '')",
            rows)
    connection.close()
    return database


def _time(command: list[str], env: dict | None = None, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build the store in this folder and keep it")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args([] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="csat-bench-report-") as scratch:
        folder = options.keep or Path(scratch) / "ws"
        started = time.perf_counter()
        database = build_store(folder, options.answers)
        print(f"built {options.answers:,} answers in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        env = dict(os.environ, CSAT_HOME=str(folder))
        env.pop("CSAT_DATABASE_URL", None)
        bare = _time([sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()",
                      str(database), BARE_QUERY], repeat=options.repeat)
        version = _time([sys.executable, "-m", "csat", "--version"], env=env, repeat=options.repeat)
        startup = _time([sys.executable, "-m", "csat", "items", "list", "--format", "json"], env=env,
                        repeat=options.repeat)
        report = _time([sys.executable, "-m", "csat", "report", "--half", ROUNDS[-1], "--format", "json"],
                       env=env, repeat=options.repeat)
    ratio = (report - startup) / bare
    print(f"bare GROUP BY {bare:.2f} s; csat --version {version:.2f} s, start-up with the store {startup:.2f} s; "
          f"csat report --format json {report:.2f} s; ratio over --version only {(report - version) / bare:.2f}",
          file=sys.stderr)
    print(f"report: ratio {ratio:.2f} (target <= {TARGET:g})")


if __name__ == "__main__":
    main(sys.argv[1:])
