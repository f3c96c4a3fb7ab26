"""`scoring.states.latency`: when a candidate is degraded by latency against its own baseline
(service/scoring/baseline.py, docs/scoring.md "States")."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.config.fields import Duration, PositiveDuration


class LatencyStateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    window: PositiveDuration = 900.0  # the current TTFT p95: raw results of the last 15 min
    baseline: PositiveDuration = 7 * 86400.0  # the TTFT p95 it is compared with (rollups)
    min_samples: Annotated[int, Field(ge=1)] = 10  # successful latency probes in the window
    min_baseline_samples: Annotated[int, Field(ge=1)] = 300  # and in the baseline
    enter_ratio: Annotated[float, Field(gt=1)] = 2.0
    exit_ratio: Annotated[float, Field(ge=1)] = 1.5
    min_increase: Duration = 0.25  # over the baseline, to enter; half of it to leave

    @model_validator(mode="after")
    def _hysteresis(self) -> LatencyStateConfig:
        if self.exit_ratio >= self.enter_ratio:
            raise ValueError(f"exit_ratio ({self.exit_ratio:g}) must be below enter_ratio "
                             f"({self.enter_ratio:g}): the gap between them is the hysteresis")
        if self.baseline <= self.window:
            raise ValueError("baseline must be longer than window")
        return self
