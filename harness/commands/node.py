"""`boltcheck node`: run the reference node as a process.

It creates or loads the node key in --data-dir, listens, and when ready prints one JSON line on stdout:
{"id": ..., "address": "127.0.0.1:PORT", "network": "regtest", "pid": N}. SIGTERM or SIGINT stops it
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

from reference_node.node import Network, Node, NodeConfig
from reference_node.nodekey import Entropy, NodeKeyError, load_or_create_node_key

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
    network = Network(args.network)
    node = Node(key, NodeConfig(network=network), Entropy(seed))
    return asyncio.run(_serve(node, host, port))


async def _serve(node: Node, host: str, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        bound_host, bound_port = await node.start(host, port)
    except OSError as exc:
        print(f"boltcheck node: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    ready = {
        "id": node.node_id.hex(),
        "address": f"{bound_host}:{bound_port}",
        "network": node.config.network.value,
        "pid": os.getpid(),
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    log.info("node %s listening on %s:%d (%s)", ready["id"], bound_host, bound_port, ready["network"])
    await stop.wait()
    log.info("stopping")
    await node.stop()
    return 0
