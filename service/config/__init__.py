"""Settings: a YAML file + FACTORWATCH_* environment, with the built-in catalog underneath.

Precedence, highest first: environment > file > built-in catalog > model defaults. Maps keyed
by id are deep-merged (a user overrides one catalog entry by naming it; `null` removes a
key), lists are replaced. `FACTORWATCH_X_FILE=/path` reads X's value from a file.

load_settings() returns a fully valid Settings or raises ConfigError with every error, each
`<dotted.location>: <message>` (or `<ENV_VAR>: <message>` when the environment set it), so a
malformed config never starts anything.

The package: models (the shape, Settings at the top; a candidate's in candidates, a static
fact in facts), fields (field types), loading (file, environment, layering), checks (secrets
in the config, cross-references) and errors (ConfigError, message text).
"""

from service.config.alerts import AlertsConfig, FlipConfig, SinkConfig
from service.config.candidates import CandidateConfig, PriceConfig, ProbeSchedule
from service.config.checks import SECRET_KEYS
from service.config.errors import ConfigError
from service.config.facts import Fact
from service.config.fields import Duration, PositiveDuration
from service.config.loading import RESERVED_ENV, check_config, load_settings
from service.config.models import (
    ENV_PREFIX,
    Gates,
    LatencyBudget,
    PricingConfig,
    PricingSource,
    ProviderConfig,
    ScoringConfig,
    Settings,
    SlaConfig,
    StatusSource,
    Volume,
    WorkloadConfig,
)

__all__ = [
    "ENV_PREFIX",
    "RESERVED_ENV",
    "SECRET_KEYS",
    "AlertsConfig",
    "CandidateConfig",
    "ConfigError",
    "Duration",
    "Fact",
    "FlipConfig",
    "Gates",
    "LatencyBudget",
    "PositiveDuration",
    "PriceConfig",
    "PricingConfig",
    "PricingSource",
    "ProbeSchedule",
    "ProviderConfig",
    "ScoringConfig",
    "Settings",
    "SinkConfig",
    "SlaConfig",
    "StatusSource",
    "Volume",
    "WorkloadConfig",
    "check_config",
    "load_settings",
]
