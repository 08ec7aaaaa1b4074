"""Attach to nodes that already run: `--cln-rpc PATH` (lightningd's JSON-RPC socket), or `--lnd-rest URL
--lnd-macaroon PATH --lnd-cert PATH`. The harness neither starts nor stops them; their peer address is read
from getinfo. Restarts and stops of an attached node are not possible (UnsupportedOperation)."""

from __future__ import annotations

from pathlib import Path

from harness.drivers.base import UnsupportedOperation
from harness.drivers.cln import ClnDriver, ClnRpcEndpoint
from harness.drivers.lnd import LndCredentials, LndDriver
from harness.launchers.base import AttachedHandle


class AttachedNodeHandle(AttachedHandle):
    """An attached node cannot be stopped and started by a scenario step."""

    def __init__(self, name: str, implementation: str) -> None:
        super().__init__(name)
        self.implementation = implementation
        self._started_once = False

    async def start(self) -> None:
        if self._started_once:
            raise UnsupportedOperation(self.implementation, "restart", "the node is attached, not launched")
        self._started_once = True


def cln_attached_driver(name: str, rpc_path: Path) -> ClnDriver:
    # developer mode unknown: force close goes through disconnect + close(unilateraltimeout)
    handle = AttachedNodeHandle(name, "cln")
    return ClnDriver(handle, ClnRpcEndpoint(unix_path=rpc_path), None, developer=False)


def lnd_attached_driver(name: str, rest_url: str, macaroon_path: Path, cert_path: Path) -> LndDriver:
    async def credentials() -> LndCredentials:
        return LndCredentials.from_files(cert_path, macaroon_path)

    return LndDriver(AttachedNodeHandle(name, "lnd"), rest_url, credentials, None)
