"""Embedded MetaStudio emulator: the upstream's job APIs as documented, served by Starlette."""

from gateway.emulator.app import create_app
from gateway.emulator.config import EmulatorConfig, Timings

__all__ = ["EmulatorConfig", "Timings", "create_app"]
