"""What the drivers of launched or attached implementations (cln, lnd) share: the node's identity,
learned at start from the implementation's own getinfo."""

from __future__ import annotations

from harness.drivers.base import DriverError, NodeAddress, NodeDriver
from harness.launchers.base import NodeHandle


class LaunchedNodeDriver(NodeDriver):
    """A NodeDriver whose node id and P2P endpoint are known only once `start` has asked the node."""

    handle: NodeHandle
    p2p: tuple[str, int] | None
    _node_id: bytes | None

    @property
    def node_id(self) -> bytes:
        if self._node_id is None:
            raise DriverError(f"{self.handle.name}: not started")
        return self._node_id

    @property
    def address(self) -> NodeAddress:
        if self.p2p is None:
            raise DriverError(f"{self.handle.name}: not started")
        host, port = self.p2p
        return NodeAddress(self.node_id, host, port)
