"""The fault controls of the reference node as Core Lightning style `dev-*` RPC methods (issue 7 item 7).

- `dev-breach id [commitnum]`: broadcast one of our revoked commitments (the newest revoked one unless
  `commitnum` names it). BOLT 5 forbids it ("MUST NOT broadcast a commitment transaction for which *it* has
  exposed the `per_commitment_secret`"): the peer under test must punish it.
- `dev-withhold-preimages [enable]`: keep (or stop keeping) the preimages of HTLCs paid to us, off chain and
  on chain. Turning it off hands the preimages to the on-chain monitors and fulfils held HTLCs.
- `dev-refuse-close [enable]`: never answer a mutual close (BOLT 2 `shutdown` / `closing_signed`).
- `dev-go-offline [offline]`: stop listening and drop every peer (or come back on the same address).

Each returns the control's state after the call, so a harness can check what it switched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from reference_node.onchain.model import OnchainError
from reference_node.payments.channels import ChannelCommandError
from reference_node.rpc import INVALID_PARAMS, LIGHTNINGD, RpcError

if TYPE_CHECKING:
    from reference_node.node import LightningNode

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def _flag(params: dict[str, Any], name: str) -> bool:
    """A boolean parameter that defaults to true (`dev-go-offline` alone means: go offline)."""
    value = params.get(name)
    if value is None:
        return True
    if not isinstance(value, bool):
        raise RpcError(INVALID_PARAMS, f"{name}: should be a boolean, not {value!r}")
    return value


class DevFaultRpc:
    def __init__(self, node: LightningNode) -> None:
        self.node = node

    def methods(self) -> dict[str, tuple[tuple[str, ...], Handler]]:
        return {
            "dev-breach": (("id", "commitnum"), self.dev_breach),
            "dev-withhold-preimages": (("enable",), self.dev_withhold_preimages),
            "dev-refuse-close": (("enable",), self.dev_refuse_close),
            "dev-go-offline": (("offline",), self.dev_go_offline),
        }

    async def dev_breach(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = params.get("id")
        number = params.get("commitnum")
        if not isinstance(ref, str):
            raise RpcError(INVALID_PARAMS, "id: should be a channel id, short channel id or peer id")
        if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 0):
            raise RpcError(INVALID_PARAMS, f"commitnum: should be a commitment number, not {number!r}")
        try:
            slot = self.node.channels.find(ref)
            monitor = self.node.onchain.monitor_of(slot)
            if number is None and monitor is not None:
                number = monitor.records.local_current_number - 1  # the newest revoked state
            tx = await self.node.onchain.breach(slot, number)
        except (ChannelCommandError, OnchainError) as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        return {"tx": tx.serialize().hex(), "txid": tx.txid_hex, "commitnum": number}

    async def dev_withhold_preimages(self, params: dict[str, Any]) -> dict[str, Any]:
        enable = _flag(params, "enable")
        controls = self.node.controls
        released = 0
        if not enable and controls.withhold_preimages:
            controls.withhold_preimages = False
            preimages = [row.preimage for row in self.node.store.invoices()]
            for slot in list(self.node.channels.slots.values()):
                if self.node.onchain.monitor_of(slot) is not None:
                    released += await self.node.onchain.add_preimages(slot, preimages)
                # the channel layer's own replay of incoming HTLCs reported but not settled yet
                await self.node.channels._replay_unresolved_incoming(slot)
        controls.withhold_preimages = enable
        return {"withhold_preimages": enable, "released_onchain": released}

    async def dev_refuse_close(self, params: dict[str, Any]) -> dict[str, Any]:
        self.node.controls.refuse_mutual_close = _flag(params, "enable")
        return {"refuse_close": self.node.controls.refuse_mutual_close}

    async def dev_go_offline(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.node.go_offline(_flag(params, "offline"))
        return {"offline": self.node.controls.offline}
