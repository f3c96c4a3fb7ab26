"""Several replicas on one database: ownership of probe work, membership and the leader lease.

Lease tests run on SQLite and on a real PostgreSQL server.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from sqlalchemy.engine import Engine

from service.cluster import LEADER_LEASE, Cluster, owner
from service.store import leases
from service.store.db import make_engine
from service.store.migrate import upgrade

CANDIDATES = [f"p{i % 7}/model-{i}" for i in range(300)]


def test_ownership_is_spread_evenly_and_every_candidate_has_one_owner() -> None:
    replicas = ["r1", "r2", "r3"]
    counts = Counter(owner(c, replicas) for c in CANDIDATES)
    assert set(counts) == set(replicas)
    assert all(70 <= n <= 130 for n in counts.values()), counts


def test_a_replica_dying_moves_only_its_own_candidates() -> None:
    before = {c: owner(c, ["r1", "r2", "r3"]) for c in CANDIDATES}
    after = {c: owner(c, ["r1", "r3"]) for c in CANDIDATES}
    moved = [c for c in CANDIDATES if before[c] != after[c]]
    assert moved and all(before[c] == "r2" for c in moved)
    assert all(after[c] in ("r1", "r3") for c in moved)


def test_a_replica_joining_takes_only_candidates_it_now_owns() -> None:
    before = {c: owner(c, ["r1", "r2"]) for c in CANDIDATES}
    after = {c: owner(c, ["r1", "r2", "r4"]) for c in CANDIDATES}
    assert all(after[c] == "r4" for c in CANDIDATES if before[c] != after[c])


@pytest.mark.integration  # waits for the lease to expire
def test_only_one_holder_until_the_lease_expires(engine: Engine) -> None:
    ttl = timedelta(seconds=1)
    with engine.begin() as conn:
        assert leases.acquire(conn, "job", "a", ttl)
        assert not leases.acquire(conn, "job", "b", ttl)
        assert leases.acquire(conn, "job", "a", ttl)  # renewal
        assert leases.holder_of(conn, "job") == "a"
    time.sleep(1.1)
    with engine.begin() as conn:
        assert leases.holder_of(conn, "job") is None
        assert leases.acquire(conn, "job", "b", ttl)
        assert not leases.acquire(conn, "job", "a", ttl)


def test_release_hands_the_lease_over_at_once(engine: Engine) -> None:
    ttl = timedelta(seconds=60)
    with engine.begin() as conn:
        assert leases.acquire(conn, "job", "a", ttl)
        leases.release(conn, "job", "a")
        assert leases.acquire(conn, "job", "b", ttl)


@pytest.mark.integration  # waits for the lease to expire
def test_membership_expires_and_leave_is_immediate(engine: Engine) -> None:
    ttl = timedelta(seconds=1)
    with engine.begin() as conn:
        leases.heartbeat(conn, "r1", "eu")
        leases.heartbeat(conn, "r2", "eu")
        now = leases.heartbeat(conn, "r3", "us")
        assert leases.live_replicas(conn, "eu", ttl, now) == ["r1", "r2"]
        leases.leave(conn, "r2")
        assert leases.live_replicas(conn, "eu", ttl, now) == ["r1"]
    time.sleep(1.1)
    with engine.begin() as conn:
        assert leases.live_replicas(conn, "eu", ttl, leases.db_now(conn)) == []


def test_cluster_tick_elects_one_leader_and_splits_the_work(engine: Engine) -> None:
    replicas = [Cluster(engine, f"r{i}", "eu", ttl_seconds=30) for i in range(3)]
    for _ in range(2):  # the second round sees every member
        for replica in replicas:
            replica.tick()
    assert [r.is_leader for r in replicas] == [True, False, False]
    assert all(r.replicas == ["r0", "r1", "r2"] for r in replicas)
    owners = Counter(next(r.replica_id for r in replicas if r.owns(c)) for c in CANDIDATES)
    assert sum(owners.values()) == len(CANDIDATES)  # each candidate: exactly one owner
    replicas[0].stop()
    replicas[1].tick()
    assert replicas[1].is_leader and replicas[1].replicas == ["r1", "r2"]
    with engine.begin() as conn:
        assert leases.holder_of(conn, LEADER_LEASE) == "r1"


def test_a_replica_whose_clock_is_30s_ahead_cannot_steal_the_lease(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(leases.LEASE.delete())
        assert leases.acquire(conn, "job", "honest", timedelta(seconds=10))
    skewed = datetime.now(UTC) + timedelta(seconds=30)
    with mock.patch("service.store.leases.datetime") as fake:
        fake.now.return_value = skewed  # this replica's clock; PostgreSQL keeps its own
        with engine.begin() as conn:
            assert not leases.acquire(conn, "job", "skewed", timedelta(seconds=10))
            assert leases.holder_of(conn, "job") == "honest"
    engine.dispose()
