"""Node-level steps that every NodeDriver supports (channel, payment and chain steps live elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext


@register_step
@dataclass(frozen=True)
class Restart(Step):
    NAME = "restart"
    SUMMARY = "stop and start a driven node (its state persists)"
    node: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.driver(self.node).restart()
        return f"{self.node} restarted"


@register_step
@dataclass(frozen=True)
class Stop(Step):
    NAME = "stop"
    SUMMARY = "stop a driven node"
    node: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.driver(self.node).stop()
        return f"{self.node} stopped"


@register_step
@dataclass(frozen=True)
class Start(Step):
    NAME = "start"
    SUMMARY = "start a driven node again after `stop`"
    node: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.driver(self.node).start()
        return f"{self.node} started"
