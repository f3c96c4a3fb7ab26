"""The names of the 12 factors and of the provider facts: the one place they are spelled.

Config validation, scoring, the API and the dashboards all check names against these.
"""

from __future__ import annotations

# The 12 factors of the LLM-selection framework, in its order (docs/scoring.md).
FACTORS: tuple[str, ...] = (
    "task_quality",
    "latency",
    "cost",
    "tool_calling",
    "long_context",
    "compliance",
    "reliability",
    "ecosystem",
    "fine_tuning",
    "stability",
    "pricing_trajectory",
    "lock_in",
)

# Yes/no provider facts; True means the provider offers it (possibly only under an
# enterprise agreement), None means unknown. Only these can be required by a gate.
BOOLEAN_FACTS: tuple[str, ...] = (
    "hipaa_baa",  # signs a HIPAA Business Associate Agreement for the API
    "soc2_type2",  # has a SOC 2 Type II report covering the API
    "iso27001",  # ISO/IEC 27001 certificate covering the API
    "eu_data_residency",  # API requests can be processed and stored in the EU
    "eu_ai_act",  # the model developer signed the EU GPAI Code of Practice
    "openai_compatible",  # serves the OpenAI Chat Completions API shape
    "open_weights",  # the models served here have published weights (others can host them)
)

# Numeric and free-text facts.
INT_FACTS: tuple[str, ...] = (
    "founded_year",
    "official_sdks",  # number of official client libraries
)
TEXT_FACTS: tuple[str, ...] = (
    "fine_tuning",  # "none" | "supervised" | "preference" | ...: the most a provider offers
)

FACT_NAMES: tuple[str, ...] = BOOLEAN_FACTS + INT_FACTS + TEXT_FACTS
