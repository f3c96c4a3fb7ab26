"""Observed outages with several regions probing: a minute counts only when a quorum agrees.

Each region's probes are judged on their own by the rules of judge.down_minutes (a provider
down in a minute when one of its candidates had probes there and none succeeded; a minute in
which every provider probed from that region failed, two or more, is the region's own
outage and is dropped). A provider is then down in a minute when at least `quorum` regions
say so. A region without probes in a minute (silent) has no say in it. With quorum 1 and one
region the result is down_minutes' own, and no regions are named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from service.outages.judge import ProbeOutcome, down_minutes, floor_minute


@dataclass(frozen=True)
class RegionalDown:
    down: dict[str, set[datetime]]  # provider -> minutes down by the quorum
    monitor: set[datetime]  # minutes in which every region that probed had its own outage
    # provider -> minute -> the regions that saw it down (empty with one region)
    regions: dict[str, dict[datetime, tuple[str, ...]]] = field(default_factory=dict)


def regional_down_minutes(outcomes: Iterable[ProbeOutcome], quorum: int = 1) -> RegionalDown:
    by_region: dict[str, list[ProbeOutcome]] = defaultdict(list)
    for o in outcomes:
        by_region[o.region].append(o)
    if len(by_region) <= 1 and quorum == 1:
        down, monitor = down_minutes(next(iter(by_region.values()), []))
        return RegionalDown(down, monitor)
    seen: dict[str, dict[datetime, list[str]]] = defaultdict(lambda: defaultdict(list))
    probed: dict[datetime, set[str]] = defaultdict(set)  # minute -> regions that probed
    own: dict[datetime, set[str]] = defaultdict(set)  # minute -> regions with their own outage
    for region, region_outcomes in sorted(by_region.items()):
        down, monitor = down_minutes(region_outcomes)
        for o in region_outcomes:
            probed[floor_minute(o.at)].add(region)
        for minute in monitor:
            own[minute].add(region)
        for provider, minutes in down.items():
            for minute in minutes:
                seen[provider][minute].append(region)
    agreed = {provider: {minute: tuple(regions) for minute, regions in minutes.items()
                         if len(regions) >= quorum}
              for provider, minutes in seen.items()}
    return RegionalDown(
        down={provider: set(minutes) for provider, minutes in agreed.items() if minutes},
        monitor={minute for minute, regions in probed.items() if regions <= own[minute]},
        regions={provider: minutes for provider, minutes in agreed.items() if minutes})


def episode_regions(regions: dict[datetime, tuple[str, ...]], start: datetime,
                    end: datetime) -> list[str]:
    """The regions that saw any minute of [start, end) down."""
    return sorted({r for minute, names in regions.items() if start <= minute < end
                   for r in names})
