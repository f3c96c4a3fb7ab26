"""The `retention` section: how long raw probe results are kept (service/store/retention.py),
and how saved rankings are thinned and then deleted (service/rankings/retention.py).

Scoring, the SLA table and the alert conditions sum whole hours from the hourly rollups, but
read the raw results of the partial hours at both edges of their windows
(service/store/rollup.py), so a window longer than the retention would lose its oldest edge
and change a published number. Such a retention is refused: below the fixed 30-day
reliability window here, below a configured window by `retention_problems` once the whole
config is known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from service.config.errors import Loc
from service.durations import parse_duration
from service.scoring.evidence import AVAILABILITY_WINDOWS

if TYPE_CHECKING:
    from service.config.models import Settings

# The reliability factor, the SLA table and error_budget_exhausted look back 30 days.
LONGEST_FIXED_WINDOW = max(AVAILABILITY_WINDOWS.values())
# The default keeps 15 days more than the longest window, so that `score --at` and
# `explain --at` replay the last 15 days exactly: 45 days unless a configured window is longer.
REPLAY_MARGIN = 15 * 86400.0
DEFAULT_PROBE_RESULTS = LONGEST_FIXED_WINDOW + REPLAY_MARGIN
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def format_duration(seconds: float) -> str:
    """Seconds as the config writes them: 45d, 36h, 1d12h, 90s."""
    if seconds <= 0 or seconds != int(seconds):
        return f"{seconds:g}s"
    left, parts = int(seconds), []
    for unit, size in _UNITS:
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts)


def _probe_results(value: float) -> float:
    if 0 < value < LONGEST_FIXED_WINDOW:
        raise ValueError(f"must be at least {format_duration(LONGEST_FIXED_WINDOW)}: the "
                         "reliability and SLA windows read raw probe results that far back "
                         "(or 0s to keep every result)")
    return value


RawRetention = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_probe_results)]
Duration = Annotated[float, BeforeValidator(parse_duration)]

# Saved rankings (docs/config.md says why these): every pass for 3 days, so a flip on a Friday
# evening can still be looked at pass by pass on Monday; then the first of each UTC hour, for a
# quarter, far beyond the 15 days that `score --at` replays exactly from the raw results.
DEFAULT_RANKINGS_FULL = 3 * 86400.0
DEFAULT_RANKINGS = 90 * 86400.0


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probe_results: RawRetention = DEFAULT_PROBE_RESULTS  # seconds; 0 keeps every result
    rankings_full: Duration = DEFAULT_RANKINGS_FULL  # every pass kept; 0 never thins
    rankings: Duration = DEFAULT_RANKINGS  # then one an hour, deleted past it; 0 keeps them


def raw_windows(settings: Settings) -> list[tuple[str, float]]:
    """The configured windows that read raw probe results, by the key that sets them."""
    found = [("scoring.window", settings.scoring.window),
             ("scoring.rate_window", settings.scoring.rate_window)]
    found += [(f"alerts.conditions.burn_rates.{i}.long", rule.long)
              for i, rule in enumerate(settings.alerts.conditions.burn_rates)]
    return found


def longest_raw_window(settings: Settings) -> tuple[str, float]:
    return max(raw_windows(settings), key=lambda item: item[1])


def fit_default(settings: Settings) -> None:
    """Left unset, the retention follows a configured window longer than 30 days (plus the
    replay margin), so a long `scoring.rate_window` alone never makes a config invalid."""
    retention = settings.retention
    if "probe_results" not in retention.model_fields_set:
        longest = max(LONGEST_FIXED_WINDOW, longest_raw_window(settings)[1])
        retention.probe_results = longest + REPLAY_MARGIN
    # Likewise a short `rankings` alone: every pass is kept until they are deleted.
    if ("rankings_full" not in retention.model_fields_set and retention.rankings
            and retention.rankings < retention.rankings_full):
        retention.rankings_full = retention.rankings


def retention_problems(settings: Settings) -> list[tuple[Loc, str]]:
    """A retention shorter than a configured window that reads raw results, and rankings
    kept whole for longer than they are kept at all; located."""
    return _probe_results_problems(settings) + _rankings_problems(settings.retention)


def _probe_results_problems(settings: Settings) -> list[tuple[Loc, str]]:
    keep = settings.retention.probe_results
    if not keep:
        return []
    name, longest = longest_raw_window(settings)
    if keep >= longest:
        return []
    return [(("retention", "probe_results"),
             f"{format_duration(keep)} is shorter than {name} ({format_duration(longest)}), "
             f"which reads raw probe results: give at least {format_duration(longest)}, or 0s "
             "to keep every result")]


def _rankings_problems(retention: RetentionConfig) -> list[tuple[Loc, str]]:
    full, keep = retention.rankings_full, retention.rankings
    if not keep or not full or full <= keep:
        return []
    return [(("retention", "rankings_full"),
             f"{format_duration(full)} is longer than retention.rankings "
             f"({format_duration(keep)}), past which saved rankings are deleted: give at most "
             f"{format_duration(keep)}, or 0s to keep every ranking until then")]


def prunes_rankings(retention: RetentionConfig) -> bool:
    """Whether the retention job has saved rankings to thin or delete."""
    return bool(retention.rankings_full or retention.rankings)
