"""Interop over real TCP on 127.0.0.1 with pyln-proto (an independent BOLT 8 implementation) in both roles:
handshake, `init` both ways, ping/pong, and messages after key rotations (more than 1000 messages).

pyln-proto is synchronous, so its side runs in a worker thread; messages on its side are encoded and
decoded by pyln's own codec from the BOLT 1 CSV rows below, independently of reference_node.wire.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
from typing import Any

from coincurve import PrivateKey as OurPrivateKey
from pyln.proto import wire as pyln_wire
from pyln.proto.message import Message as PylnMessage
from pyln.proto.message import MessageNamespace
from pyln.proto.primitives import PrivateKey as PylnPrivateKey
from pyln.proto.primitives import PublicKey as PylnPublicKey

from reference_node.node import Network, Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.transport import accept, connect

TIMEOUT_S = 20.0
# More than 1000 messages each way: keys rotate every 500 messages, so this crosses two rotations.
MESSAGES_PAST_ROTATION = 1100

# BOLT 1 rows in the spec's CSV form (the format pyln's codec reads), for the pyln side only.
BOLT1_CSV = """msgtype,init,16
msgdata,init,gflen,u16,
msgdata,init,globalfeatures,byte,gflen
msgdata,init,flen,u16,
msgdata,init,features,byte,flen
msgdata,init,tlvs,init_tlvs,
tlvtype,init_tlvs,networks,1
tlvdata,init_tlvs,networks,chains,chain_hash,...
msgtype,ping,18
msgdata,ping,num_pong_bytes,u16,
msgdata,ping,byteslen,u16,
msgdata,ping,ignored,byte,byteslen
msgtype,pong,19
msgdata,pong,byteslen,u16,
msgdata,pong,ignored,byte,byteslen
""".splitlines()
NAMESPACE = MessageNamespace(BOLT1_CSV)
REGTEST = Network.REGTEST.chain_hash


def _tune(lconn: pyln_wire.LightningConnection) -> pyln_wire.LightningConnection:
    """pyln writes the length and the body with two send() calls: without TCP_NODELAY, Nagle's
    algorithm and delayed ACKs add ~40 ms to every message."""
    lconn.connection.settimeout(TIMEOUT_S)
    lconn.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return lconn


def _pyln_encode(name: str, **fields: Any) -> bytes:
    out = io.BytesIO()
    PylnMessage(NAMESPACE.get_msgtype(name), **fields).write(out)
    return out.getvalue()


def _pyln_decode(data: bytes) -> tuple[str, dict[str, Any]]:
    message = PylnMessage.read(NAMESPACE, io.BytesIO(data))
    assert message is not None, f"pyln cannot decode {data.hex()}"
    return message.messagetype.name, message.to_py()


def _pyln_exchange_init(lconn: pyln_wire.LightningConnection) -> dict[str, Any]:
    name, their_init = _pyln_decode(lconn.read_message())
    assert name == "init"
    lconn.send_message(
        _pyln_encode("init", globalfeatures=b"", features=b"", tlvs={"networks": {"chains": [REGTEST]}})
    )
    return their_init


def _pyln_ping_many(lconn: pyln_wire.LightningConnection, count: int) -> int:
    """pyln sends `count` pings and checks every pong; returns the pongs seen."""
    for index in range(count):
        num_pong_bytes = index % 300
        lconn.send_message(_pyln_encode("ping", num_pong_bytes=num_pong_bytes, ignored=bytes(index % 7)))
        name, pong = _pyln_decode(lconn.read_message())
        assert name == "pong", name
        assert pong["ignored"] == "00" * num_pong_bytes
    return count


def _pyln_answer_pings(lconn: pyln_wire.LightningConnection, count: int) -> int:
    """pyln answers `count` pings with the pong each asks for."""
    for _ in range(count):
        name, ping = _pyln_decode(lconn.read_message())
        assert name == "ping", name
        lconn.send_message(_pyln_encode("pong", ignored=bytes(ping["num_pong_bytes"])))
    return count


def _node() -> Node:
    return Node(node_key_from_seed(os.urandom(16)), NodeConfig(network=Network.REGTEST), Entropy(None))


def test_pyln_initiator_against_our_node_as_responder() -> None:
    async def scenario() -> None:
        node = _node()
        host, port = await node.start("127.0.0.1", 0)
        pyln_key = PylnPrivateKey(os.urandom(32))
        try:

            def pyln_connect() -> pyln_wire.LightningConnection:
                return _tune(pyln_wire.connect(pyln_key, PylnPublicKey(node.node_id), host, port))

            lconn = await asyncio.to_thread(pyln_connect)
            our_init = await asyncio.to_thread(_pyln_exchange_init, lconn)
            assert our_init["tlvs"]["networks"]["chains"] == [REGTEST.hex()]
            peer = await node.wait_for_peer(pyln_key.public_key().serializeCompressed(), TIMEOUT_S)
            # pyln pings us past two key rotations in each direction.
            assert (
                await asyncio.to_thread(_pyln_ping_many, lconn, MESSAGES_PAST_ROTATION)
                == MESSAGES_PAST_ROTATION
            )
            # Then we ping pyln, after the rotations: it must still decrypt us, and we it.
            answered = asyncio.ensure_future(asyncio.to_thread(_pyln_answer_pings, lconn, 3))
            for num_pong_bytes in (0, 1, 1000):
                pong = await peer.ping(num_pong_bytes=num_pong_bytes, timeout_s=TIMEOUT_S)
                assert len(pong.ignored) == num_pong_bytes
            assert await answered == 3
            await asyncio.to_thread(lconn.connection.close)
        finally:
            await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))


def test_our_node_as_initiator_against_pyln_responder() -> None:
    async def scenario() -> None:
        pyln_key = PylnPrivateKey(os.urandom(32))
        server = pyln_wire.LightningServerSocket(pyln_key)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(TIMEOUT_S)
        port = server.getsockname()[1]

        def pyln_serve() -> tuple[dict[str, Any], int, int]:
            lconn = _tune(server.accept()[0])
            lconn.send_message(
                _pyln_encode(
                    "init", globalfeatures=b"", features=b"", tlvs={"networks": {"chains": [REGTEST]}}
                )
            )
            name, our_init = _pyln_decode(lconn.read_message())
            assert name == "init"
            answered = _pyln_answer_pings(lconn, MESSAGES_PAST_ROTATION)
            pinged = _pyln_ping_many(lconn, 5)
            lconn.connection.close()
            return our_init, answered, pinged

        node = _node()
        await node.start("127.0.0.1", 0)
        try:
            served = asyncio.ensure_future(asyncio.to_thread(pyln_serve))
            peer = await node.connect("127.0.0.1", port, pyln_key.public_key().serializeCompressed())
            for index in range(MESSAGES_PAST_ROTATION):
                pong = await peer.ping(num_pong_bytes=index % 50, timeout_s=TIMEOUT_S)
                assert len(pong.ignored) == index % 50
            our_init, answered, pinged = await asyncio.wait_for(served, TIMEOUT_S)
            assert our_init["tlvs"]["networks"]["chains"] == [REGTEST.hex()]
            assert (answered, pinged) == (MESSAGES_PAST_ROTATION, 5)
        finally:
            await node.stop()
            server.close()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))


def test_largest_messages_cross_between_our_transport_and_pyln_both_ways() -> None:
    """65535-byte messages, in both roles, straight over the transports (no node)."""

    async def scenario() -> None:
        big_to_pyln = os.urandom(65535)
        big_to_us = os.urandom(65535)

        # Role 1: we accept, pyln connects.
        our_key = OurPrivateKey()
        accepted: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set_result(await accept(reader, writer, our_key, timeout_s=TIMEOUT_S))

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        def pyln_side() -> bytes:
            lconn = _tune(
                pyln_wire.connect(
                    PylnPrivateKey(os.urandom(32)),
                    PylnPublicKey(our_key.public_key.format()),
                    "127.0.0.1",
                    port,
                )
            )
            lconn.send_message(big_to_us)
            received: bytes = lconn.read_message()
            lconn.connection.close()
            return received

        pyln_done = asyncio.ensure_future(asyncio.to_thread(pyln_side))
        connection = await asyncio.wait_for(accepted, TIMEOUT_S)
        assert await connection.receive() == big_to_us
        await connection.send(big_to_pyln)
        assert await asyncio.wait_for(pyln_done, TIMEOUT_S) == big_to_pyln
        await connection.close()
        server.close()
        await server.wait_closed()

        # Role 2: pyln accepts, we connect.
        pyln_key = PylnPrivateKey(os.urandom(32))
        listener = pyln_wire.LightningServerSocket(pyln_key)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT_S)

        def pyln_server_side() -> bytes:
            lconn = _tune(listener.accept()[0])
            received: bytes = lconn.read_message()
            lconn.send_message(big_to_us)
            lconn.connection.close()
            return received

        pyln_done = asyncio.ensure_future(asyncio.to_thread(pyln_server_side))
        ours = await connect(
            "127.0.0.1",
            listener.getsockname()[1],
            pyln_key.public_key().serializeCompressed(),
            OurPrivateKey(),
        )
        await ours.send(big_to_pyln)
        assert await ours.receive() == big_to_us
        assert await asyncio.wait_for(pyln_done, TIMEOUT_S) == big_to_pyln
        await ours.close()
        listener.close()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))
