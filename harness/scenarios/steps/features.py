"""BOLT 9 / BOLT 1 checks of the feature bits a node sends in its `init`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from harness.drivers.peer import Direction, ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import PeerName, Step, StepContext
from reference_node.wire import FeatureError
from reference_node.wire.features import Context, Features, check_sent_features

# BOLT 1: "SHOULD NOT set features greater than 13 in `globalfeatures`".
_HIGHEST_GLOBALFEATURES_BIT = 13


class InitCheck(Enum):
    """Which property of the received `init` a `check_init_features` step judges."""

    ORIGIN_RULES = "origin_rules"
    MINIMAL_LENGTH = "minimal_length"
    GLOBALFEATURES_LOW_BITS = "globalfeatures_low_bits"


@register_step
@dataclass(frozen=True)
class CheckInitFeatures(Step):
    """Judge the `init` the node sent this peer (it must have arrived: put this after `connect`).

    `check` is one of: `origin_rules` (BOLT 9 origin node: no bit outside its Context column, never
    both bits of a pair, every transitive dependency set), `minimal_length` (no leading zero byte in
    `features`), `globalfeatures_low_bits` (no bit above 13 in `globalfeatures`)."""

    NAME = "check_init_features"
    SUMMARY = "judge the feature bits of the init the node sent"
    USES_CHAIN = False
    peer: PeerName
    check: InitCheck

    async def run(self, ctx: StepContext) -> str | None:
        received = [e for e in ctx.peer(self.peer).trace() if e.direction is Direction.RECEIVED]
        init = next((e for e in received if e.name == "init"), None)
        if init is None:
            raise ExpectationFailed("no init received from the node (connect first)")
        features = bytes.fromhex(str(init.fields.get("features", "")))
        globalfeatures = bytes.fromhex(str(init.fields.get("globalfeatures", "")))
        if self.check is InitCheck.ORIGIN_RULES:
            try:
                check_sent_features(Features.merge_init(globalfeatures, features), Context.INIT, where="init")
            except FeatureError as exc:
                raise ExpectationFailed(f"init features {features.hex() or '<empty>'}: {exc}") from exc
        elif self.check is InitCheck.MINIMAL_LENGTH:
            if features[:1] == b"\x00":
                raise ExpectationFailed(f"features {features.hex()} has a leading zero byte")
        elif Features.from_bytes(globalfeatures).bits >> (_HIGHEST_GLOBALFEATURES_BIT + 1):
            raise ExpectationFailed(f"globalfeatures {globalfeatures.hex()} sets a bit above 13")
        return f"{self.check.value}: ok (features {features.hex() or '<empty>'})"
