"""Several replicas on one database: who probes what, and who scores and alerts.

- Membership: every replica renews a row in `replica` every TTL/3 (a lease on being
  alive). Replicas whose row is older than the TTL are gone.
- Probe work: within a region, each candidate belongs to exactly one live replica, chosen
  by rendezvous hashing (the replica with the highest hash of replica id and candidate).
  When a replica joins or dies, only the candidates it gains or loses move. Each region
  probes every candidate: regions measure from different places on purpose.
- The lease holder: one replica holds the `scoring-and-alerting` lease (a conditional
  update in the database) and runs the jobs that must run once: scoring, alerting, polling
  status pages and price lists. If it dies, another takes the lease once it expires: within
  TTL + TTL/3.
A replica that cannot reach the database stops acting as the lease holder when the lease it
last renewed would have run out, so two replicas never both act as lease holder for long.
(In code, `is_leader` and the `factorwatch_leader` metric keep their names.)
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Sequence
from datetime import timedelta

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.engine import Engine

from service.store.leases import acquire, heartbeat, leave, live_replicas, release

log = logging.getLogger(__name__)

LEADER_LEASE = "scoring-and-alerting"


def default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def owner(candidate: str, replicas: Sequence[str]) -> str | None:
    """The replica that probes `candidate`: highest hash of (replica, candidate)."""
    if not replicas:
        return None
    return max(replicas, key=lambda r: hashlib.sha256(f"{r}\0{candidate}".encode()).digest())


class Cluster:
    def __init__(self, engine: Engine, replica_id: str, region: str, ttl_seconds: float,
                 metrics: ClusterMetrics | None = None) -> None:
        self.engine = engine
        self.metrics = metrics
        self.replica_id = replica_id
        self.region = region
        self.ttl = timedelta(seconds=ttl_seconds)
        self.replicas: list[str] = [replica_id]  # until the first heartbeat: probe everything
        self._leader_until = 0.0  # time.monotonic() until which the last renewal holds

    @property
    def is_leader(self) -> bool:
        return time.monotonic() < self._leader_until

    def owns(self, candidate: str) -> bool:
        return owner(candidate, self.replicas) == self.replica_id

    def tick(self) -> None:
        """Heartbeat, refresh the membership view, take or renew the lease, and say so in
        the metrics (also when the database is unreachable: the lease then lapses).

        Blocking (database I/O): run it in a worker thread.
        """
        try:
            self._tick()
        finally:
            if self.metrics is not None:
                self.metrics.leader.set(1 if self.is_leader else 0)
                self.metrics.replicas.set(len(self.replicas))

    def _tick(self) -> None:
        was_leader, before = self.is_leader, list(self.replicas)
        started = time.monotonic()
        with self.engine.begin() as conn:
            now = heartbeat(conn, self.replica_id, self.region)
            self.replicas = live_replicas(conn, self.region, self.ttl, now) or [self.replica_id]
        with self.engine.begin() as conn:
            if acquire(conn, LEADER_LEASE, self.replica_id, self.ttl):
                # Counted from before the renewal was sent: never later than the real expiry.
                self._leader_until = started + self.ttl.total_seconds()
            else:
                self._leader_until = 0.0
        if self.replicas != before:
            log.info("replicas in region %s: %s", self.region, ", ".join(self.replicas))
        if self.is_leader and not was_leader:  # at every start of a single instance
            log.info("this replica is now the lease holder: it scores, alerts and polls "
                     "status pages and price lists (the %s lease)", LEADER_LEASE)
        elif was_leader and not self.is_leader:
            log.warning("this replica lost the %s lease: another replica is the lease "
                        "holder now, or the database could not be reached", LEADER_LEASE)

    def stop(self) -> None:
        """Leave cleanly: hand the lease back and drop out of the membership at once."""
        try:
            with self.engine.begin() as conn:
                release(conn, LEADER_LEASE, self.replica_id)
                leave(conn, self.replica_id)
        except Exception as exc:  # the database may be the reason we are stopping
            log.warning("could not leave the cluster cleanly: %s", type(exc).__name__)
        self._leader_until = 0.0


class ClusterMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "factorwatch_leader",
            "1 on the replica that holds the scoring-and-alerting lease, else 0.",
            registry=registry)
        self.replicas = Gauge(
            "factorwatch_cluster_replicas",
            "Live replicas in this replica's region, sharing its probe work.", registry=registry)
