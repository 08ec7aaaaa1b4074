"""`boltcheck electrum-server`: the embedded regtest chain with an Electrum-protocol server (TCP, 127.0.0.1)
and its bitcoind-compatible RPC (to mine and fund), in one process.

Prints one JSON line when ready: {"electrum_server", "electrum_port", "rpc_url", "cookie", "pid",
"faucet_address"}; `electrum --regtest --oneserver --server <electrum_server>` connects to it.
Exits 0 on SIGTERM, SIGINT or the chain RPC's `stop`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from harness.chain.electrum import ElectrumServer
from harness.chain.embedded import EmbeddedChain
from harness.chain.rpc_server import ChainRpcServer


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "electrum-server", help="run the embedded chain with an Electrum-protocol server (and its RPC)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="Electrum TCP port on 127.0.0.1 (0: any free port)"
    )
    parser.add_argument(
        "--rpcport", type=int, default=0, help="bitcoind-compatible RPC port (0: any free port)"
    )
    parser.add_argument("--data-dir", type=Path, help="kernel data and .cookie (default: temporary)")
    parser.add_argument("--seed", default="", help="hex seed for the faucet key (default: empty)")
    parser.add_argument(
        "--premine", type=int, default=0, metavar="N", help="mine N blocks to the faucet at start"
    )
    parser.add_argument("--log-level", default="WARNING", help="Python logging level (to stderr)")
    parser.set_defaults(func=run)


async def _serve(chain: EmbeddedChain, rpc: ChainRpcServer, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The chain RPC's `stop` sets a threading.Event; bridge it to the loop without polling.
    stop_waiter = loop.run_in_executor(None, rpc.stop_requested.wait)
    stop_waiter.add_done_callback(lambda _f: stop.set())
    async with ElectrumServer(chain, port=port) as server:
        ready = {
            "electrum_server": server.address,
            "electrum_port": server.port,
            "rpc_url": rpc.url,
            "cookie": str(rpc.cookie_path) if rpc.cookie_path else None,
            "pid": os.getpid(),
            "faucet_address": chain.faucet.address,
        }
        print(json.dumps(ready), flush=True)
        await stop.wait()
    rpc.stop_requested.set()  # releases the executor thread when the stop came from a signal
    await stop_waiter


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        seed = bytes.fromhex(args.seed)
    except ValueError:
        print(f"--seed must be hex, got {args.seed!r}", file=sys.stderr)
        return 2
    temporary = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="boltcheck-electrum-")) if temporary else args.data_dir
    chain = EmbeddedChain(data_dir, seed=seed)
    try:
        rpc = ChainRpcServer(chain, port=args.rpcport, cookie_dir=data_dir)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.rpcport}: {exc}", file=sys.stderr)
        chain.close()
        return 1
    try:
        if args.premine:
            chain.mine(args.premine)
        rpc.start()
        asyncio.run(_serve(chain, rpc, args.port))
    except OSError as exc:
        print(f"cannot serve: {exc}", file=sys.stderr)
        return 1
    finally:
        rpc.close()
        chain.close()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0
