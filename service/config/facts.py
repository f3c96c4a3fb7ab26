"""A static fact in the config (a provider's `facts.<name>`, a candidate's `quality_prior`):
a value with where it comes from and as of when."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fact(_Strict):
    value: bool | int | float | str | None = None
    source: str | None = None
    as_of: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # In YAML a fact may be a bare scalar: `hipaa_baa: true` means {value: true}.
        return data if isinstance(data, dict) else {"value": data}

    @field_validator("value", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ValueError("a fact value must be true, false, a number, a string or null")
        return value
