"""`boltcheck node`: run the reference node as a process.

It creates or loads the node key in --data-dir, listens, and when ready prints one JSON line on stdout:
{"id": ..., "address": "127.0.0.1:PORT", "network": "regtest", "pid": N, "rpc": "<data-dir>/lightning-rpc"}.
With --chain URL (a `boltcheck chain` or bitcoind RPC URL, credentials in the URL or --chain-cookie), the node
has its wallet, channels and payments, and serves Core Lightning's JSON-RPC on the unix socket named in "rpc".
Without --chain it is a connection-level node only ("rpc" is null). SIGTERM, SIGINT or the `stop` RPC stop it
cleanly (exit code 0). Logs go to stderr and never include secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from reference_node.chain_source import BitcoindChainSource, ChainSourceError, RpcEndpoint
from reference_node.faults import Faults, UnknownDefect, UnsupportedDefect
from reference_node.node import LIGHTNING_FEATURES, LightningNode, Network, Node, NodeConfig
from reference_node.nodekey import Entropy, NodeKeyError, load_or_create_node_key
from reference_node.rpc import RPC_FILE, RpcServer

log = logging.getLogger("boltcheck.node")


class ListenAddressError(ValueError):
    """--listen is not HOST:PORT."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("node", help="run the reference Lightning node as a process")
    parser.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="address to listen on (port 0: any free port)",
    )
    parser.add_argument("--data-dir", required=True, type=Path, help="holds the node key (created if absent)")
    parser.add_argument(
        "--network",
        default=Network.REGTEST.value,
        choices=[n.value for n in Network],
        help="chain (default regtest)",
    )
    parser.add_argument(
        "--seed",
        help="derive the node key (on creation) and every random choice from this seed, so a run replays",
    )
    parser.add_argument(
        "--chain",
        metavar="URL",
        help="bitcoind-compatible RPC URL (`boltcheck chain` or bitcoind), http://user:password@host:port "
        "or with --chain-cookie; enables wallet, channels, payments and the JSON-RPC",
    )
    parser.add_argument("--chain-cookie", type=Path, help="the chain's .cookie file (user:password)")
    parser.add_argument(
        "--defect",
        action="append",
        default=[],
        metavar="NAME",
        help="a deliberate defect (reference_node.faults)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(func=run)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ListenAddressError(f"--listen must be HOST:PORT, got {value!r}")
    return host, int(port_text)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        host, port = parse_listen(args.listen)
    except ListenAddressError as exc:
        print(f"boltcheck node: {exc}", file=sys.stderr)
        return 2
    seed = args.seed.encode() if args.seed is not None else None
    try:
        key = load_or_create_node_key(args.data_dir, seed=seed)
    except NodeKeyError as exc:
        print(f"boltcheck node: {exc}", file=sys.stderr)
        return 1
    config = NodeConfig(network=Network(args.network))
    if args.chain is not None:
        config = NodeConfig(network=Network(args.network), features=LIGHTNING_FEATURES)
    if args.chain is None:
        return asyncio.run(_serve(Node(key, config, Entropy(seed)), host, port))
    try:
        faults = Faults.parse(args.defect)
        faults.check_applicable()
        chain = BitcoindChainSource(RpcEndpoint.parse(args.chain, args.chain_cookie))
    except (UnknownDefect, UnsupportedDefect, ChainSourceError) as exc:
        print(f"boltcheck node: {exc}", file=sys.stderr)
        return 2
    lightning = LightningNode(key, chain, args.data_dir, config, Entropy(seed), faults)
    return asyncio.run(_serve_lightning(lightning, host, port))


def _ready_line(node: Node, host: str, port: int, rpc: Path | None) -> None:
    ready = {
        "id": node.node_id.hex(),
        "address": f"{host}:{port}",
        "network": node.config.network.value,
        "pid": os.getpid(),
        "rpc": None if rpc is None else str(rpc),
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    log.info("node %s listening on %s:%d (%s)", ready["id"], host, port, ready["network"])


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _serve(node: Node, host: str, port: int) -> int:
    stop = _stop_event()
    try:
        bound_host, bound_port = await node.start(host, port)
    except OSError as exc:
        print(f"boltcheck node: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    _ready_line(node, bound_host, bound_port, None)
    await stop.wait()
    log.info("stopping")
    await node.stop()
    return 0


async def _serve_lightning(lightning: LightningNode, host: str, port: int) -> int:
    stop = _stop_event()
    try:
        bound_host, bound_port = await lightning.start(host, port)
    except OSError as exc:
        print(f"boltcheck node: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    except ChainSourceError as exc:
        print(f"boltcheck node: chain: {exc}", file=sys.stderr)
        return 1
    rpc = RpcServer(lightning, lightning.data_dir / RPC_FILE, stop.set)
    await rpc.start()
    _ready_line(lightning.node, bound_host, bound_port, rpc.socket_path)
    await stop.wait()
    log.info("stopping")
    await rpc.close()
    await lightning.stop()
    return 0
