"""The gossip a running reference node generates, read on the other side by pyln-proto with the BOLT 7
message definitions of pyln-bolt7 (an independent decoder), and its signatures checked against the
BOLT 7 digests computed here (double-SHA256 of the message after the signature fields)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any

import pyln.spec.bolt7 as bolt7
from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from pyln.proto.message import Message as PylnMessage

from harness.chain.embedded import EmbeddedChain
from harness.scenarios.steps.network import NetworkSpec, Topology, build_network, wait_for_gossip
from reference_node.forwarding.policy import ForwardingPolicy
from reference_node.wire import encode_message

TIMEOUT_S = 60.0
POLICY = ForwardingPolicy(fee_base_msat=4321, fee_proportional_millionths=77, cltv_expiry_delta=55)


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _verify(pubkey: bytes, compact_signature: bytes, digest: bytes) -> bool:
    der = cdata_to_der(deserialize_compact(compact_signature))
    return PublicKey(pubkey).verify(der, digest, hasher=None)


def _pyln(raw: bytes) -> Any:
    message = PylnMessage.read(bolt7.namespace, io.BytesIO(raw))
    assert message is not None
    return message


def _gossip(tmp_path: Path) -> tuple[list[bytes], list[bytes], bytes, bytes, bytes]:
    async def run() -> tuple[list[bytes], list[bytes], bytes, bytes, bytes]:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            spec = NetworkSpec.of_topology(2, Topology.LINE, policy=POLICY)
            network = await build_network(spec, chain, tmp_path, seed=5)
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                graph = network.multihop[1].gossip.graph  # what node 1 learnt, including node 0's own
                (record,) = list(graph.channels())
                assert record.announcement is not None
                updates = [u for u in record.updates if u is not None]
                nodes = [n.announcement for n in graph.nodes()]
                return (
                    [encode_message(u) for u in updates],
                    [encode_message(n) for n in nodes],
                    encode_message(record.announcement),
                    network.nodes[0].node_id,
                    network.nodes[1].node_id,
                )
            finally:
                await network.stop()

    return asyncio.run(run())


def test_gossip_decodes_with_pyln_and_every_signature_verifies(tmp_path: Path) -> None:
    updates, node_announcements, announcement, node_0, node_1 = _gossip(tmp_path)
    ann = _pyln(announcement)
    fields = ann.to_py()
    assert sorted([bytes.fromhex(fields["node_id_1"]), bytes.fromhex(fields["node_id_2"])]) == sorted(
        [node_0, node_1]
    )
    # BOLT 7: signatures over the double-SHA256 of the message from offset 256 (after the 4 signatures)
    digest = _sha256d(announcement[2 + 256 :])
    for signature, key in (
        ("node_signature_1", "node_id_1"),
        ("node_signature_2", "node_id_2"),
        ("bitcoin_signature_1", "bitcoin_key_1"),
        ("bitcoin_signature_2", "bitcoin_key_2"),
    ):
        assert _verify(bytes.fromhex(fields[key]), bytes.fromhex(fields[signature]), digest), signature
    assert len(updates) == 2
    for raw in updates:
        update = _pyln(raw).to_py()
        direction = int(update["channel_flags"]) & 1
        origin = bytes.fromhex(fields["node_id_1" if direction == 0 else "node_id_2"])
        assert _verify(origin, bytes.fromhex(update["signature"]), _sha256d(raw[2 + 64 :]))
        assert int(update["fee_base_msat"]) == POLICY.fee_base_msat
        assert int(update["fee_proportional_millionths"]) == POLICY.fee_proportional_millionths
        assert int(update["cltv_expiry_delta"]) == POLICY.cltv_expiry_delta
        assert int(update["message_flags"]) & 1  # must_be_one
    assert len(node_announcements) == 2
    for raw in node_announcements:
        node = _pyln(raw).to_py()
        assert _verify(
            bytes.fromhex(node["node_id"]), bytes.fromhex(node["signature"]), _sha256d(raw[2 + 64 :])
        )
