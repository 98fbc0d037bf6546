"""Configuration of the embedded MetaStudio emulator: who may call it and how fast jobs move."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timings:
    """Seconds a job stays in each automatic state; tests shrink or freeze them."""

    video_waiting: float = 3.0
    video_processing: float = 12.0
    picture_waiting: float = 3.0
    picture_processing: float = 15.0
    training_step: float = 5.0
    failure_rate: float = 0.1
    random_seed: int = 7


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to know; credentials never appear in its repr."""

    project_id: str = "demo-project"
    tokens: tuple[str, ...] = field(default=("demo-token",), repr=False)
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    timings: Timings = field(default_factory=Timings)
    seed_demo_data: bool = True
    admin_enabled: bool = False
    signature_max_skew_seconds: int = 900
    public_host: str | None = None
