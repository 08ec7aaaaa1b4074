"""`boltcheck chain`: run the embedded regtest chain as a process with a bitcoind-compatible JSON-RPC.

Prints one JSON line when ready: {"rpc_url", "rpcport", "cookie", "pid", "faucet_address"}; exits 0 on
SIGTERM, SIGINT or the `stop` RPC. Without --rpcuser/--rpcpassword, auth uses `<data dir>/.cookie`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from harness.chain.embedded import EmbeddedChain
from harness.chain.rpc_server import ChainRpcServer


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "chain", help="run the embedded regtest chain with a bitcoind-compatible RPC"
    )
    parser.add_argument("--rpcport", type=int, default=18443, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--rpcuser", help="RPC user (with --rpcpassword); default: cookie auth")
    parser.add_argument("--rpcpassword", help="RPC password")
    parser.add_argument(
        "--data-dir", type=Path, help="directory for kernel data and .cookie (default: temporary)"
    )
    parser.add_argument("--seed", default="", help="hex seed for the faucet key (default: empty)")
    parser.add_argument(
        "--premine", type=int, default=0, metavar="N", help="mine N blocks to the faucet at start"
    )
    parser.add_argument("--log-level", default="WARNING", help="Python logging level (to stderr)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    if (args.rpcuser is None) != (args.rpcpassword is None):
        print("give both --rpcuser and --rpcpassword, or neither (cookie auth)", file=sys.stderr)
        return 2
    try:
        seed = bytes.fromhex(args.seed)
    except ValueError:
        print(f"--seed must be hex, got {args.seed!r}", file=sys.stderr)
        return 2
    temporary = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="boltcheck-chain-")) if temporary else args.data_dir
    chain = EmbeddedChain(data_dir, seed=seed)
    try:
        server = ChainRpcServer(
            chain, port=args.rpcport, user=args.rpcuser, password=args.rpcpassword, cookie_dir=data_dir
        )
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.rpcport}: {exc}", file=sys.stderr)
        chain.close()
        return 1

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        server.stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if args.premine:
            chain.mine(args.premine)
        server.start()
        ready = {
            "rpc_url": server.url,
            "rpcport": server.port,
            "cookie": str(server.cookie_path) if server.cookie_path else None,
            "pid": os.getpid(),
            "faucet_address": chain.faucet.address,
        }
        print(json.dumps(ready), flush=True)
        server.stop_requested.wait()
    finally:
        server.close()
        chain.close()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0
