"""The store's plumbing on real SQLite files and a real PostgreSQL: engine, migrations,
batched result writer. Tests taking `database_url` run once per backend."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel, select

from service.store import models
from service.store.db import DatabaseError, make_engine, ping, session_scope
from service.store.migrate import current_revision, head_revision, is_up_to_date, upgrade
from service.store.models import ProbeResultRow
from service.store.writer import ResultWriter

REPO = Path(__file__).resolve().parents[1]


def db_path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def raw_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read with a plain driver connection, apart from any engine under test."""
    if not is_sqlite(url):
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        with psycopg.connect(conninfo) as pg:
            return [tuple(r) for r in pg.execute(sql).fetchall()]  # type: ignore[arg-type]
    conn = sqlite3.connect(db_path(url))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def row(candidate: str = "openai/gpt-4o-mini", **kw: Any) -> ProbeResultRow:
    return ProbeResultRow(candidate_id=candidate, kind="latency", ok=True, **kw)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# --- engine --------------------------------------------------------------------------------

def test_sqlite_engine_sets_pragmas_and_creates_parent_dir(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'fw.db'}"
    eng = make_engine(url)
    with eng.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}
    eng.dispose()
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 5000,
                      "foreign_keys": 1}
    assert (tmp_path / "a" / "b" / "fw.db").exists()


def test_unopenable_sqlite_path_fails_with_clear_message(tmp_path: Path) -> None:
    (tmp_path / "plainfile").write_text("not a directory")
    url = f"sqlite:///{tmp_path / 'plainfile' / 'x.db'}"
    with pytest.raises(DatabaseError) as err:
        make_engine(url)
    assert str(err.value).startswith(f"database: cannot open '{url}': ")


REACHABLE_NOWHERE = "postgresql+psycopg://fw:s3cr3t-pw@127.0.0.1:1/factorwatch"
UNPARSABLE = "postgresql://fw:s3cr3t-pw@db.example:notaport/factorwatch"


# make_engine does not connect to a server database (ping and upgrade do), so it can only
# fail on a URL it cannot parse.
@pytest.mark.parametrize(("call", "url"), [
    (make_engine, UNPARSABLE),
    (upgrade, REACHABLE_NOWHERE), (upgrade, UNPARSABLE),
    (current_revision, REACHABLE_NOWHERE), (current_revision, UNPARSABLE),
])
def test_password_never_appears_in_errors(call: Callable[[str], Any], url: str) -> None:
    with pytest.raises(DatabaseError) as err:
        call(url)
    message = str(err.value)
    assert "s3cr3t-pw" not in message
    assert message.startswith("database: cannot ")
    assert "fw:[REDACTED]@" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_ping_is_true_for_a_live_database_and_never_raises(engine: Engine) -> None:
    assert ping(engine) is True
    dead = create_engine("sqlite:////nonexistent-dir-for-ping/x.db")
    assert ping(dead) is False


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(row("kept"))
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(row("discarded"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert [r.candidate_id for r in s.exec(select(ProbeResultRow))] == ["kept"]


# --- timestamps ----------------------------------------------------------------------------

def test_timestamps_come_back_tz_aware_utc(engine: Engine, database_url: str) -> None:
    paris_noon = datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as s:
        s.add(row(started_at=paris_noon))
    with session_scope(engine) as s:
        got = s.exec(select(ProbeResultRow)).one().started_at
    assert got.tzinfo is UTC
    assert got == paris_noon
    if is_sqlite(database_url):
        # Stored as UTC text, so SQL ordering and range filters compare instants.
        assert raw_rows(database_url, "SELECT started_at FROM probe_result") == [
            ("2025-03-01 10:00:00.000000",)]
    else:  # timestamptz: an instant, whatever the session's time zone
        assert raw_rows(database_url, "SELECT started_at AT TIME ZONE 'UTC' "
                                      "FROM probe_result") == [(datetime(2025, 3, 1, 10, 0),)]


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as s:
        s.add(row(started_at=datetime(2025, 3, 1, 12, 0)))


# --- migrations ----------------------------------------------------------------------------

def test_upgrade_creates_every_table_and_index(database_url: str) -> None:
    assert current_revision(database_url) is None
    assert not is_up_to_date(database_url)
    upgrade(database_url)
    eng = make_engine(database_url)
    insp = inspect(eng)
    assert set(insp.get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    for name, table in SQLModel.metadata.tables.items():
        assert {i["name"] for i in insp.get_indexes(name)} >= {i.name for i in table.indexes}
    eng.dispose()
    assert current_revision(database_url) == head_revision()
    assert is_up_to_date(database_url)


def test_migrations_match_the_models_exactly(engine: Engine) -> None:
    assert models.ProbeResultRow.__tablename__ == "probe_result"
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models.py and the migrations differ; write a revision: {diff}"


def test_upgrade_twice_is_a_noop_and_keeps_data(engine: Engine, database_url: str) -> None:
    with session_scope(engine) as s:
        s.add(row("survivor"))
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert raw_rows(database_url, "SELECT candidate_id FROM probe_result") == [("survivor",)]


@pytest.mark.integration  # db upgrade as subprocesses
def test_two_replicas_running_db_upgrade_at_once_both_succeed(database_url: str) -> None:
    # The command each replica's init step runs; the lock in migrate.py serialises them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    env["FACTORWATCH_DATABASE"] = database_url
    procs = [subprocess.Popen([sys.executable, "-m", "service.cli.main", "db", "upgrade"],
                              cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert {out.strip().rsplit(" ", 1)[-1] for out, _ in outputs} == {head_revision()}
    assert current_revision(database_url) == head_revision()
    assert raw_rows(database_url, "SELECT count(*) FROM alembic_version") == [(1,)]


# --- writer --------------------------------------------------------------------------------

class Fault:
    """Makes the database fail inside an INSERT of chosen rows, as a lost disk would.

    A trigger runs on every inserted probe_result row and fails for the chosen candidates
    ("*": all), midway through the batch, after earlier rows of the same transaction were
    already inserted. Both backends report it as OperationalError. SQLite's trigger calls
    back into Python; PostgreSQL's reads the chosen candidates from a table.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._failing: set[str] = set()
        if engine.dialect.name == "sqlite":
            @event.listens_for(engine, "connect")
            def _register(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.create_function("fw_fault", 1, self._check)

            engine.dispose()  # pooled connections predate the function
            ddl = ["CREATE TRIGGER fw_fault_trg BEFORE INSERT ON probe_result "
                   "BEGIN SELECT fw_fault(NEW.candidate_id); END"]
        else:
            ddl = ["CREATE TABLE fw_fault (candidate text PRIMARY KEY)",
                   "CREATE FUNCTION fw_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF EXISTS (SELECT 1 FROM fw_fault WHERE candidate IN (NEW.candidate_id, '*'))"
                   " THEN RAISE EXCEPTION 'injected: disk gone' USING ERRCODE = '58030'; "
                   "END IF; RETURN NEW; END $$",
                   "CREATE TRIGGER fw_fault_trg BEFORE INSERT ON probe_result "
                   "FOR EACH ROW EXECUTE FUNCTION fw_fault()"]
        with engine.begin() as conn:
            for statement in ddl:
                conn.execute(text(statement))

    def fail_on(self, *candidates: str) -> None:
        """Fail inserts of these candidates ("*": every row) from now on; none: heal."""
        self._failing = set(candidates)
        if self._engine.dialect.name != "sqlite":
            with self._engine.begin() as conn:
                conn.execute(text("DELETE FROM fw_fault"))
                for candidate in candidates:
                    conn.execute(text("INSERT INTO fw_fault VALUES (:c)"), {"c": candidate})

    def _check(self, candidate: str) -> int:
        if {candidate, "*"} & self._failing:
            raise RuntimeError("injected: disk gone")
        return 0


async def test_writer_batches_and_close_writes_everything(engine: Engine,
                                                          database_url: str) -> None:
    batches: list[int] = []
    writer = ResultWriter(engine, flush_interval=30, batch_size=200,
                          on_flush=lambda rows: batches.append(len(rows)))
    task = asyncio.create_task(writer.run())
    for i in range(1050):
        writer.add(row(f"c-{i}"))
    await eventually(lambda: sum(batches) >= 1000)  # size-triggered, long before 30 s
    await writer.close()
    await task
    assert batches == [200] * 5 + [50]
    assert writer.buffered == 0 and writer.written == 1050
    assert raw_rows(database_url, "SELECT count(DISTINCT candidate_id) FROM probe_result") \
        == [(1050,)]


async def test_writer_flushes_on_the_interval(engine: Engine, database_url: str) -> None:
    writer = ResultWriter(engine, flush_interval=0.05)
    task = asyncio.create_task(writer.run())
    writer.add(row())
    await eventually(lambda: writer.written == 1)
    assert raw_rows(database_url, "SELECT count(*) FROM probe_result") == [(1,)]
    await writer.close()
    await task


async def test_close_without_run_flushes(engine: Engine, database_url: str) -> None:
    writer = ResultWriter(engine)
    writer.add(row())
    await writer.close()
    assert raw_rows(database_url, "SELECT count(*) FROM probe_result") == [(1,)]


async def test_failed_batch_is_all_or_nothing_and_retried(engine: Engine,
                                                          database_url: str) -> None:
    fault = Fault(engine)
    fault.fail_on("c-150")  # midway through the batch
    writer = ResultWriter(engine, flush_interval=0.05, batch_size=300)
    task = asyncio.create_task(writer.run())
    for i in range(300):
        writer.add(row(f"c-{i}"))
    await eventually(lambda: writer.failures >= 2)  # failed, and failed again on retry
    assert raw_rows(database_url, "SELECT count(*) FROM probe_result") == [(0,)]
    assert writer.buffered == 300
    assert writer.last_error and "OperationalError" in writer.last_error

    fault.fail_on()  # the database comes back
    await eventually(lambda: writer.buffered == 0)
    await writer.close()
    await task
    assert raw_rows(database_url, "SELECT count(*), count(DISTINCT candidate_id) "
                                  "FROM probe_result") == [(300, 300)]
    assert writer.dropped == 0


async def test_row_refused_for_good_costs_only_itself(engine: Engine,
                                                      database_url: str) -> None:
    writer = ResultWriter(engine, batch_size=20)
    for i in range(10):
        writer.add(row(f"c-{i}"))
        if i == 4:  # violates NOT NULL, in the middle of the batch
            writer.add(ProbeResultRow(candidate_id=None, kind="x", ok=True))  # type: ignore[arg-type]
    await writer.close()
    assert writer.rejected == 1 and writer.written == 10 and writer.buffered == 0
    assert raw_rows(database_url, "SELECT count(*) FROM probe_result") == [(10,)]


async def test_full_buffer_drops_oldest_and_warns_once(engine: Engine, database_url: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    fault = Fault(engine)
    fault.fail_on("*")
    writer = ResultWriter(engine, flush_interval=0.02, batch_size=5, max_buffered=10)
    task = asyncio.create_task(writer.run())
    with caplog.at_level(logging.WARNING, logger="service.store.writer"):
        for i in range(25):
            writer.add(row(f"c-{i}"))
            await asyncio.sleep(0.005)
        failures = writer.failures
        await eventually(lambda: writer.failures > failures)  # a batch in flight came back
    assert writer.buffered == 10 and writer.dropped == 15
    assert sum("dropping the oldest" in r.message for r in caplog.records) == 1

    fault.fail_on()
    await writer.close()
    await task
    assert sorted(r[0] for r in raw_rows(database_url,
                                         "SELECT candidate_id FROM probe_result")) \
        == sorted(f"c-{i}" for i in range(15, 25))


KILLED_WRITER = textwrap.dedent("""
    import asyncio, sys
    from service.store.db import make_engine
    from service.store.models import ProbeResultRow
    from service.store.writer import ResultWriter

    async def main() -> None:
        writer = ResultWriter(make_engine(sys.argv[1]), batch_size=50, flush_interval=0.01)
        task = asyncio.create_task(writer.run())
        batch = 0
        while True:
            # 50 adds with no await between: every writer batch is one whole test batch.
            for i in range(50):
                writer.add(ProbeResultRow(candidate_id=f"batch-{batch}", kind="latency",
                                          ok=True, extra={"i": i, "pad": "x" * 500}))
            batch += 1
            while writer.buffered > 500:
                await asyncio.sleep(0.001)

    asyncio.run(main())
""")


@pytest.mark.integration
def test_sigkill_mid_write_leaves_no_half_batch(database_url: str) -> None:
    upgrade(database_url)
    with subprocess.Popen([sys.executable, "-c", KILLED_WRITER, database_url], cwd=REPO,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            deadline = time.monotonic() + 30
            while raw_rows(database_url, "SELECT count(*) FROM probe_result")[0][0] < 2000:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the writer made no progress"
                time.sleep(0.02)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    if is_sqlite(database_url):
        assert raw_rows(database_url, "PRAGMA integrity_check") == [("ok",)]
    counts = raw_rows(database_url, "SELECT candidate_id, count(*) FROM probe_result "
                                    "GROUP BY candidate_id")
    assert len(counts) >= 40
    assert {n for _, n in counts} == {50}, [c for c in counts if c[1] != 50]
