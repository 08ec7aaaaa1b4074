"""Whatever one peer sends, the node keeps serving the others (BOLT 1 "MUST close the connection" is
about that one connection only)."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_node.node import Network, Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.scripted_peer import ScriptedPeer, UnexpectedDisconnect
from reference_node.transport import TransportError

TIMEOUT_S = 5.0
REGTEST = Network.REGTEST.chain_hash

_even_types = st.integers(min_value=0, max_value=0xFFFF).filter(lambda t: t % 2 == 0)
# A garbage action: ("unframed", bytes) goes to TCP as is; ("message", bytes) is sent as a framed
# Lightning message whose content is random, malformed or of an unknown even type.
actions = st.one_of(
    st.tuples(st.just("unframed"), st.binary(min_size=1, max_size=120)),
    st.tuples(st.just("message"), st.binary(max_size=120)),
    st.tuples(
        st.just("message"),
        st.builds(lambda t, body: t.to_bytes(2, "big") + body, _even_types, st.binary(max_size=60)),
    ),
    st.tuples(
        st.just("message"),
        st.builds(
            lambda t, body: t.to_bytes(2, "big") + body,
            st.sampled_from([1, 16, 17, 18, 19, 32, 33, 128, 256]),  # known types, random contents
            st.binary(max_size=60),
        ),
    ),
)


async def _connected(node: Node, seed: bytes) -> ScriptedPeer:
    host, port = node.address
    peer = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(seed))
    await peer.exchange_init(networks=[REGTEST], timeout_s=TIMEOUT_S)
    return peer


async def _garbage_scenario(garbage: list[tuple[str, bytes]]) -> None:
    node = Node(node_key_from_seed(b"garbage target"), NodeConfig(), Entropy(b"garbage"))
    await node.start("127.0.0.1", 0)
    try:
        good = await _connected(node, b"good")
        bad = await _connected(node, b"bad")
        for kind, data in garbage:
            with contextlib.suppress(TransportError):  # the node may already have hung up on `bad`
                if kind == "unframed":
                    await bad.send_unframed(data)
                else:
                    await bad.send_raw(data)
            # The well-behaved peer is still served, after every single piece of garbage.
            await good.sync(TIMEOUT_S)
        # The misbehaving peer either was disconnected or is still served correctly.
        with contextlib.suppress(UnexpectedDisconnect, TransportError):
            await bad.sync(TIMEOUT_S)
        # And the node still accepts new connections.
        late = await _connected(node, b"late")
        await late.sync(TIMEOUT_S)
        for peer in (good, bad, late):
            await peer.close()
    finally:
        await node.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=st.lists(actions, min_size=1, max_size=6))
def test_garbage_from_one_peer_never_stops_service_to_another(garbage: list[tuple[str, bytes]]) -> None:
    asyncio.run(asyncio.wait_for(_garbage_scenario(garbage), TIMEOUT_S * 4))
