"""Several people writing to one store at once: real processes, started together, on PostgreSQL and SQLite.

Each racer is a separate `python -m csat`-like process that loads csat first and then waits for a
start file, so the commands begin within milliseconds of each other. Races are repeated where cheap,
so a loser that shows up one time in three shows up here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from import_fixtures import stored_answers, write_sheet_csv
from smtp_fixtures import running_smtp, use_smtp

from csat.config import Workspace
from csat.store.engine import open_store
from tests.conftest import EXAMPLES

# Loads the CLI, says it is ready, waits for the start file, then runs csat as `python -m csat` would.
RACER = """
import os, sys, time
from pathlib import Path
import csat.cli, csat.store.engine, csat.importer.run, csat.importer.context, csat.survey.send, csat.feedback.log, csat.capa.records
import sqlalchemy, sqlmodel
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.001)
sys.argv = ["csat", *sys.argv[3:]]
csat.cli.main()
"""

CODES = [f"C-{number:03d}" for number in range(1, 11)]


def race(folder: Path, runs: list[tuple[dict[str, str], list]], timeout: float = 120) -> list[subprocess.CompletedProcess]:
    """Start every (environment, csat arguments) run in its own process at the same moment; their results."""
    folder.mkdir(parents=True, exist_ok=True)
    go = folder / "go"
    go.unlink(missing_ok=True)
    processes = []
    for index, (environment, args) in enumerate(runs):
        ready = folder / f"ready-{index}"
        ready.unlink(missing_ok=True)
        env = {key: value for key, value in os.environ.items()
               if key not in ("CSAT_HOME", "CSAT_DATABASE_URL", "CSAT_SECRET")} | environment
        processes.append(subprocess.Popen(
            [sys.executable, "-c", RACER, str(ready), str(go), *[str(arg) for arg in args]],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + timeout
    while not all((folder / f"ready-{index}").exists() for index in range(len(runs))):
        assert time.monotonic() < deadline, "the racers did not start"
        assert all(process.poll() is None for process in processes), [p.communicate() for p in processes]
        time.sleep(0.01)
    go.touch()
    results = []
    for process, (_, args) in zip(processes, runs):
        stdout, stderr = process.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return results


def repeats(url, attempts):
    """Races repeat on PostgreSQL, where each statement may interleave with another writer's; SQLite's
    BEGIN IMMEDIATE lets one writer in at a time, so once is enough there."""
    return list(attempts) if url else list(attempts)[:1]


def no_crash(result: subprocess.CompletedProcess) -> None:
    """A process that lost a race says so in one line of its own, never with a database error or a trace."""
    for text in ("Traceback", "database error", "IntegrityError", "duplicate key", "UNIQUE constraint"):
        assert text not in result.stderr, result


@pytest.fixture(params=["postgresql", "sqlite"])
def shared(request, tmp_path, monkeypatch, cli):
    """A workspace with the example customers; on PostgreSQL its store is on the test server.

    Returns (environment for the racers, database URL or None).
    """
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("CSAT_DATABASE_URL", url)
    else:   # the SQLite race, whatever --backend says: a file store in the workspace
        monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    environment = {"CSAT_HOME": str(root)} | ({"CSAT_DATABASE_URL": url} if url else {})
    return environment, url


def _sheet(path: Path, codes: list[str], quality: int) -> Path:
    return write_sheet_csv(path, ["customer", "respondent", "quality", "delivery"],
                           [[code, f"Buyer {code}", quality, 80] for code in codes])


def _responses(cli, period: str) -> dict[str, float]:
    listed = json.loads(cli("response", "list", "--half", period, "--format", "json").stdout)
    return {row["customer"]: row for row in listed}


def test_identical_imports_racing_store_once_and_the_loser_says_unchanged(shared, tmp_path, cli):
    environment, url = shared
    for attempt, period in enumerate(repeats(url, ["2024H1", "2024H2", "2025H1"])):
        sheet = _sheet(tmp_path / f"answers-{period}.csv", CODES, 70 + attempt)
        results = race(tmp_path / f"race-{period}", [
            (environment, ["import", sheet, "--half", period, "--format", "json"]) for _ in range(2)])
        for result in results:
            no_crash(result)
            assert result.returncode == 0, result
        reports = sorted((json.loads(result.stdout) for result in results), key=lambda report: report["responses_new"])
        assert [(report["responses_new"], report["responses_unchanged"]) for report in reports] == [(0, 10), (10, 0)]
        assert reports[1]["rounds_opened"] == [period] and reports[0]["rounds_opened"] == []
        store = open_store(Workspace.open(Path(environment["CSAT_HOME"])))
        stored = stored_answers(store, period)
        assert len(stored) == 10 and stored[("C-004", "Buyer C-004")]["quality"][0] == 70 + attempt
        report = json.loads(cli("report", "--half", period, "--format", "json").stdout)
        assert report["responses"] == 10


def test_overlapping_imports_racing_never_half_write(shared, tmp_path, cli):
    """The second import plans against what the first stored: the shared rows that differ are named, exit 1,
    and nothing of that file is written; the same rows with the same answers are `unchanged`."""
    environment, url = shared
    for attempt, period in enumerate(repeats(url, ["2024H1", "2024H2", "2025H1"])):
        # Open, not the closed round an import makes for an ended half (which refuses a second file).
        assert cli("survey", "open", "--half", period).exit_code == 0
        folder = tmp_path / f"race-{period}"
        folder.mkdir()
        first = _sheet(folder / "first.csv", CODES[:6], 90)                # C-001..C-006
        second = _sheet(folder / "second.csv", CODES[3:], 60)              # C-004..C-010, C-004..C-006 differ
        results = race(folder, [(environment, ["import", first, "--half", period, "--format", "json"]),
                                (environment, ["import", second, "--half", period, "--format", "json"])])
        for result in results:
            no_crash(result)
        assert sorted(result.returncode for result in results) == [0, 1], results
        winner, loser = (results[0], results[1]) if results[0].returncode == 0 else (results[1], results[0])
        assert "C-004" in loser.stderr and "already imported with different answers" in loser.stderr, loser
        assert "nothing written" in loser.stderr
        won = json.loads(winner.stdout)
        expected = 90 if winner is results[0] else 60
        assert won["responses_new"] == (6 if expected == 90 else 7)
        stored = _responses(cli, period)
        assert len(stored) == won["responses_new"]                        # none of the loser's rows
        answers = stored_answers(open_store(Workspace.open(Path(environment["CSAT_HOME"]))), period)
        assert {scores["quality"][0] for scores in answers.values()} == {expected}

    # Overlapping rows with the same answers: both succeed, the shared rows once.
    folder = tmp_path / "race-same"
    folder.mkdir()
    assert cli("survey", "open", "--half", "2025H2").exit_code == 0
    first = _sheet(folder / "first.csv", CODES[:6], 85)
    second = _sheet(folder / "second.csv", CODES[3:], 85)
    results = race(folder, [(environment, ["import", first, "--half", "2025H2", "--format", "json"]),
                            (environment, ["import", second, "--half", "2025H2", "--format", "json"])])
    for result in results:
        no_crash(result)
        assert result.returncode == 0, result
    reports = [json.loads(result.stdout) for result in results]
    assert sum(report["responses_new"] for report in reports) == 10
    assert sum(report["responses_unchanged"] for report in reports) == 3
    assert len(_responses(cli, "2025H2")) == 10


def test_feedback_from_eight_processes_gets_eight_numbers_without_gaps(shared, tmp_path, cli):
    environment, _ = shared
    runs = [(environment, ["feedback", "add", CODES[index], "--kind", "quality", "--channel", "phone",
                           "--text", f"Complaint {index}", "--capa", "--format", "json"]) for index in range(8)]
    results = race(tmp_path / "race-feedback", runs)
    for result in results:
        no_crash(result)
        assert result.returncode == 0, result
    listed = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert sorted(entry["id"] for entry in listed) == list(range(1, 9))
    capas = json.loads(cli("capa", "list", "--format", "json").stdout)
    year = capas[0]["number"][5:9]
    assert sorted(capa["number"] for capa in capas) == [f"CAPA-{year}-{number:03d}" for number in range(1, 9)]
    assert sorted(entry["capa"] for entry in listed) == sorted(capa["number"] for capa in capas)
    # What a person sees: each entry shows its own text and its one CAPA.
    for entry in listed:
        shown = json.loads(cli("feedback", "show", str(entry["id"]), "--format", "json").stdout)
        assert shown["capa"] == entry["capa"] and shown["text"] == entry["text"]


def test_capa_numbers_never_collide_and_one_capa_per_entry(shared, tmp_path, cli):
    environment, url = shared
    for index in range(2):
        assert cli("feedback", "add", CODES[index], "--kind", "service", "--channel", "email",
                   "--text", f"Late answer {index}").exit_code == 0
    attempts = repeats(url, range(2))
    for attempt in attempts:
        # Six people open CAPAs at once for two entries, while another logs a complaint with one.
        runs = [(environment, ["capa", "open", "--from-feedback", str(number), "--format", "json"])
                for number in (1, 2, 1, 2, 1, 1)]
        runs += [(environment, ["feedback", "add", CODES[5], "--kind", "quality", "--channel", "phone",
                                "--text", f"Round {attempt}", "--capa"])]
        results = race(tmp_path / f"race-capa-{attempt}", runs)
        for result in results:
            no_crash(result)
            assert result.returncode == 0, result
    capas = json.loads(cli("capa", "list", "--format", "json").stdout)
    numbers = sorted(capa["number"] for capa in capas)
    year = numbers[0][5:9]
    expected = 2 + len(attempts)                                    # the 2 entries and one added per race
    assert numbers == [f"CAPA-{year}-{number:03d}" for number in range(1, expected + 1)]   # no gaps, no clashes
    listed = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert all(entry["capa"] for entry in listed) and len({entry["capa"] for entry in listed}) == expected


def test_two_workspaces_sending_one_round_send_each_invitation_once(shared, tmp_path, cli):
    """Two people at two machines (two workspace folders, one store): every customer gets one e-mail."""
    environment, url = shared
    if url is None:
        pytest.skip("two workspaces share a store only on a database server")
    first, second = Path(environment["CSAT_HOME"]), tmp_path / "ws2"
    assert cli("init", second).exit_code == 0                      # joins the store the first one made
    with running_smtp() as server:
        for root in (first, second):
            use_smtp(Workspace.open(root), server.port)
        for period in ["2024H1", "2024H2", "2025H1"]:
            server.received.clear()
            results = race(tmp_path / f"race-send-{period}", [
                ({"CSAT_HOME": str(root), "CSAT_DATABASE_URL": url}, ["survey", "send", "--half", period])
                for root in (first, second)])
            for result in results:
                no_crash(result)
                assert result.returncode == 0 or "another `csat survey send` is running" in result.stderr, result
            assert 0 in [result.returncode for result in results]
            # Whoever was told another send is running runs it again later: nothing is left to send.
            again = race(tmp_path / f"again-{period}", [
                ({"CSAT_HOME": str(second), "CSAT_DATABASE_URL": url}, ["survey", "send", "--half", period])])
            assert again[0].returncode == 0, again
            recipients = server.recipients()
            assert len(recipients) == len(set(recipients)) == 9, (period, results, recipients)  # C-006 has no e-mail
            status = json.loads(cli("survey", "status", "--half", period, "--format", "json").stdout)
            assert status["sent"] == 9, status


def test_same_feedback_log_imported_twice_at_once_adds_each_entry_once(shared, tmp_path, cli):
    environment, _ = shared
    runs = [(environment, ["feedback", "import", EXAMPLES / "feedback-log.csv"]) for _ in range(2)]
    runs += [(environment, ["feedback", "add", "C-002", "--kind", "service", "--channel", "phone",
                            "--text", "Nobody called back"])]
    results = race(tmp_path / "race-log", runs)
    for result in results:
        no_crash(result)
        assert result.returncode == 0, result
    listed = json.loads(cli("feedback", "list", "--format", "json").stdout)
    logged = sum(1 for line in (EXAMPLES / "feedback-log.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
                 if line.strip())
    assert len(listed) == logged + 1
    assert sorted(entry["id"] for entry in listed) == list(range(1, logged + 2))
    assert sum(entry["text"] == "Nobody called back" for entry in listed) == 1


def test_an_import_waiting_for_another_says_so_and_then_plans_against_it(tmp_path, monkeypatch, cli,
                                                                       postgres_url):  # noqa: F811
    """While another writer holds the responses lock, an import says on stderr what it waits for, then goes on."""
    import psycopg

    from csat.store.locking import lock_key

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    sheet = _sheet(tmp_path / "answers.csv", CODES, 77)
    assert cli("import", sheet, "--half", "2024H1").exit_code == 0
    environment = {"CSAT_HOME": str(root), "CSAT_DATABASE_URL": postgres_url}
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("responses"),))
        env = {key: value for key, value in os.environ.items() if key != "CSAT_HOME"} | environment
        process = subprocess.Popen([sys.executable, "-m", "csat", "import", str(sheet), "--half", "2024H1",
                                    "--format", "json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        waited = process.stderr.readline()
        assert "waiting for another import or response entry on this store to finish" in waited
        assert process.poll() is None                                # still waiting, not failed
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key("responses"),))
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["responses_unchanged"] == 10
    assert len(_responses(cli, "2024H1")) == 10


def test_an_entry_rolled_back_leaves_no_gap_in_feedback_numbers(shared, cli):
    """`feedback add --capa` whose CAPA fails rolls the entry back; the next entry takes its number (PostgreSQL's
    id sequence would have skipped it)."""
    from csat.feedback import log as feedback

    environment, _ = shared
    workspace = Workspace.open(Path(environment["CSAT_HOME"]))
    store = open_store(workspace)
    with pytest.raises(RuntimeError):
        with store.session() as session:
            feedback.add(session, workspace.settings, "C-001", "quality", "phone", "Never stored")
            raise RuntimeError("the CAPA could not be opened")
    added = cli("feedback", "add", "C-002", "--kind", "quality", "--channel", "phone", "--text", "Stored")
    assert added.exit_code == 0 and "#1 " in added.stderr, added
    listed = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert [(entry["id"], entry["text"]) for entry in listed] == [(1, "Stored")]


def test_a_round_opened_by_several_people_at_once_is_opened_once(shared, tmp_path, cli):
    from datetime import date

    from csat.periods import Half

    environment, _ = shared
    period = str(Half.containing(date.today()))
    sheet = _sheet(tmp_path / "answers.csv", CODES, 88)
    results = race(tmp_path / "race-open", [
        (environment, ["survey", "open", "--half", period]),
        (environment, ["survey", "open", "--half", period]),
        (environment, ["import", sheet, "--half", period, "--format", "json"])])
    for result in results:
        no_crash(result)
        assert result.returncode == 0, result
    rounds = json.loads(cli("survey", "list", "--format", "json").stdout)
    assert [entry["period"] for entry in rounds].count(period) == 1, rounds
    assert len(_responses(cli, period)) == 10
