"""What a scenario asks of each of its driven nodes, read from its steps, and whether a given assignment
of implementations to nodes can do it (the interop matrix's up-front skip decision).

A step's needs come from its name and arguments: `open_channel` needs the channel type on both ends,
`disconnect_nodes` a disconnect command on `node`, `force_close` a force close, and the steps that use
the reference node's fault controls (withhold preimages, breach, drop or forge messages) need those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from harness.drivers.capabilities import (
    CAPABILITIES,
    CHANNEL_TYPE_CAPABILITY,
    Capability,
)
from harness.scenarios.model import Scenario, StepCall

# Steps acting on a node beyond the NodeDriver interface, through the reference node's controls
# (harness/scenarios/steps/onchain.py, channels.py and adversary_bolt02.py: they call `reference_node(...)`).
_FAULT_STEPS = frozenset(
    {
        "hold_preimages",
        "release_preimages",
        "release_held_htlcs",
        "breach",
        "drop_messages",
        "wait_dropped",
        "corrupt_next_commitment_signed",
        "send_channel_message",
        "send_raw_from",
        "expect_closed_onchain",
        "wait_htlcs_committed",
        "settle_held_expect_no_revocation",
        # harness/scenarios/steps/adversary_bolt02.py
        "offer_raw_htlcs",
        "offer_same_hash_htlcs",
        "miscount_next_htlc_signatures",
        "corrupt_next_revoke_and_ack",
        "corrupt_next_closing_signed",
        "corrupt_next_channel_reestablish",
        "begin_close",
        "ignore_errors",
        "watch_notices",
        "expect_notice",
        "expect_no_rejection",
        "wait_shutdown_received",
        "wait_channel_quiet",
        "expect_no_htlc_removal",
    }
)
# the fault steps a driver with Capability.HOLD_PREIMAGES can do (PreimageHolding)
_HOLD_STEPS = frozenset({"hold_preimages", "release_preimages", "release_held_htlcs"})
_NODE_STEPS: Mapping[str, Capability] = {
    "disconnect_nodes": Capability.DISCONNECT,
    "force_close": Capability.FORCE_CLOSE,
    "kill": Capability.KILL,
}


@dataclass(frozen=True)
class Need:
    """`node` must have `capability`, because of the step at `step_index` (line `line`)."""

    node: str
    capability: Capability
    step_index: int
    line: int
    #: a narrower capability that meets this need too (withholding preimages is a fault control the
    #: reference node has and a cln node has through the harness's plugin)
    alternative: Capability | None = None


def _step_needs(call: StepCall) -> Iterator[Need]:
    step, name = call.step, call.name
    if name == "open_channel":
        channel_type = getattr(step, "channel_type", None)
        value = getattr(channel_type, "value", channel_type)
        capability = CHANNEL_TYPE_CAPABILITY.get(str(value))
        if capability is not None:
            for end in (str(getattr(step, "opener", "")), str(getattr(step, "to", ""))):
                yield Need(end, capability, call.index, call.line)
        return
    node = getattr(step, "node", None)
    if not isinstance(node, str):
        return
    if name in _NODE_STEPS:
        yield Need(node, _NODE_STEPS[name], call.index, call.line)
    elif name in _HOLD_STEPS:
        yield Need(node, Capability.FAULT_CONTROLS, call.index, call.line, Capability.HOLD_PREIMAGES)
    elif name in _FAULT_STEPS:
        yield Need(node, Capability.FAULT_CONTROLS, call.index, call.line)


def scenario_needs(scenario: Scenario) -> tuple[Need, ...]:
    """Every (node, capability) the scenario's steps need, in step order, without repeats."""
    seen: set[tuple[str, Capability, Capability | None]] = set()
    needs = []
    for call in scenario.steps:
        for need in _step_needs(call):
            key = (need.node, need.capability, need.alternative)
            if key not in seen:
                seen.add(key)
                needs.append(need)
    return tuple(needs)


def unmet_needs(scenario: Scenario, implementations: Mapping[str, str]) -> list[str]:
    """Skip reasons (one per implementation and capability, e.g. "electrum: no disconnect command"),
    given the implementation each node of the scenario runs; empty when every need is met. Nodes of an
    implementation without a declaration are left to their driver (UnsupportedOperation at run time)."""
    reasons: list[str] = []
    for need in scenario_needs(scenario):
        declared = CAPABILITIES.get(implementations.get(need.node, ""))
        if declared is None:
            continue
        reason = declared.lacks(need.capability)
        if need.alternative is not None and declared.lacks(need.alternative) is None:
            reason = None
        if reason is not None and reason not in reasons:
            reasons.append(reason)
    return reasons
