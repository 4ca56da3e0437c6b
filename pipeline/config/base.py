"""Base model for config files: unknown keys are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base for config models: unknown keys are errors, models are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Invalid(ValueError):
    """A validator's error with its own hint (shown instead of the generic one)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint
