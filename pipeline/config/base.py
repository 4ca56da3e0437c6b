"""Base model for config files: unknown keys are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base for config models: unknown keys are errors, models are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
