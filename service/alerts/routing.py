"""Which sink hears of which event, and when: filters, silences, maintenance, repeats. Pure.

`route` decides once per event and sink, when the event is fanned out; `plan` decides, each
time a sink's pending deliveries are looked at, which to send now as one message, which to
hold back (the minimum repeat interval) and which a newer event of the same subject has
made pointless (superseded).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.sinks.events import AlertEvent, event_type, severity_rank
from service.sinks.render import span

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Matchers:
    """Each non-empty set must contain what the event is about; empty sets match anything."""

    types: frozenset[str] = frozenset()
    workloads: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    candidates: frozenset[str] = frozenset()

    @classmethod
    def of(cls, types: Iterable[str] = (), workloads: Iterable[str] = (),
           providers: Iterable[str] = (), candidates: Iterable[str] = ()) -> Matchers:
        return cls(frozenset(types), frozenset(workloads), frozenset(providers),
                   frozenset(candidates))

    def matches(self, event: AlertEvent, *, resolutions_follow: bool = False) -> bool:
        """`resolutions_follow`: a listed firing type lets its resolution through too."""
        if self.types and event.type not in self.types and not (
                resolutions_follow and event.resolved
                and any(event_type(t).family == event.kind.family for t in self.types)):
            return False
        if self.workloads and event.workload not in self.workloads:
            return False
        if self.providers and not self.providers.intersection(event.providers):
            return False
        return not self.candidates or bool(self.candidates.intersection(event.candidates))


@dataclass(frozen=True)
class Silence:
    matchers: Matchers
    starts_at: datetime
    ends_at: datetime
    label: str  # said in the delivery row: which silence, and why

    def covers(self, event: AlertEvent) -> bool:
        return (self.starts_at <= event.created_at < self.ends_at
                and self.matchers.matches(event))


@dataclass(frozen=True)
class Maintenance:
    """A weekly window: `start` local time on each of `weekdays` (all when empty)."""

    matchers: Matchers
    start: time
    duration: timedelta
    timezone: str = "UTC"
    weekdays: frozenset[str] = frozenset()
    label: str = "maintenance"

    def active_at(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        for back in range(8 + self.duration.days):
            day = local.date() - timedelta(days=back)
            if self.weekdays and WEEKDAYS[day.weekday()] not in self.weekdays:
                continue
            begin = datetime.combine(day, self.start, tzinfo=ZoneInfo(self.timezone))
            if begin <= local < begin + self.duration:
                return True
        return False

    def covers(self, event: AlertEvent) -> bool:
        return self.active_at(event.created_at) and self.matchers.matches(event)


@dataclass(frozen=True)
class SinkRule:
    """What a sink wants: its filters (an event must pass all) and its pace."""

    name: str
    filters: Matchers = Matchers()
    min_severity: str = "info"
    group_wait: timedelta = timedelta(seconds=30)
    repeat_interval: timedelta = timedelta(hours=1)
    max_group: int = 20

    def wants(self, event: AlertEvent) -> bool:
        # A resolution is news to whoever heard of the firing, whatever its own severity.
        severe = event.resolved or severity_rank(event.severity) >= severity_rank(
            self.min_severity)
        return severe and self.filters.matches(event, resolutions_follow=True)


def route(event: AlertEvent, rule: SinkRule, quiet: Sequence[Silence | Maintenance],
          now: datetime, max_age: timedelta) -> tuple[str, str | None] | None:
    """(status, note) of the event's delivery to this sink, or None when the sink does not
    want it. Status: pending, silenced (recorded, never sent) or expired (too old to tell)."""
    if not rule.wants(event):
        return None
    if event.created_at < now - max_age:
        return "expired", f"older than {span(max_age.total_seconds())} when routed"
    for q in quiet:
        if q.covers(event):
            return "silenced", q.label[:300]
    return "pending", None


@dataclass(frozen=True)
class Pending:
    delivery_id: int
    event: AlertEvent
    due_at: datetime


@dataclass(frozen=True)
class History:
    """What the sink last told about one repeat key."""

    last_firing_at: datetime | None  # the last message that was not a resolution
    open: bool  # the last message was a firing: the reader believes it still holds
    in_flight: bool = False  # a message about it is being sent or retried


@dataclass
class Plan:
    send: list[int] = field(default_factory=list)  # one message, in this order
    supersede: list[int] = field(default_factory=list)
    defer: dict[int, datetime] = field(default_factory=dict)  # id -> not before


def plan(pending: Sequence[Pending], history: Mapping[str, History], rule: SinkRule,
         now: datetime) -> Plan:
    out = Plan()
    by_key: dict[str, list[Pending]] = defaultdict(list)
    for p in pending:
        by_key[p.event.repeat_key].append(p)
    ready: list[Pending] = []
    for key, rows in by_key.items():
        rows.sort(key=lambda p: (p.event.created_at, p.event.id))
        latest = rows[-1]
        out.supersede += [p.delivery_id for p in rows[:-1]]  # the newest says it all
        seen = history.get(key, History(None, False))
        if seen.in_flight:
            continue  # wait for it: a newer message must not overtake an older one
        if latest.event.resolved:
            if seen.open:
                ready.append(latest)  # an end is news at once, never held back
            else:
                out.supersede.append(latest.delivery_id)  # nothing announced to end
            continue
        not_before = (seen.last_firing_at + rule.repeat_interval
                      if seen.last_firing_at is not None else None)
        if not_before is not None and now < not_before:
            if latest.due_at != not_before:
                out.defer[latest.delivery_id] = not_before
            continue
        ready.append(latest)
    # Events that arrive together go together: the first one due releases the group.
    if any(p.due_at <= now for p in ready):
        ready.sort(key=lambda p: (p.event.created_at, p.event.id))
        out.send = [p.delivery_id for p in ready[:rule.max_group]]
    return out
