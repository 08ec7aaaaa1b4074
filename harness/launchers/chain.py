"""The chain a launched cln/lnd node uses, and the ChainBackend the scenario drives it with.

`ChainService` pairs what the nodes are told (`node_rpc`: host and port as *they* reach bitcoind, which in
Docker is the bitcoind container's name on the private network) with the harness's own `BitcoindChain`
over 127.0.0.1. The same scenario runs on a real bitcoind (process, container, attached) or on the
embedded chain served by `boltcheck chain`, because every step goes through the ChainBackend interface.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.chain.backend import ChainBackend
from harness.chain.bitcoind import BitcoindChain
from harness.chain.errors import ChainError, RpcError, RpcTransportError
from harness.chain.rpc_client import RpcClient
from harness.launchers.regtest import BitcoindRpc

RPC_IN_WARMUP = -28
RPC_WALLET_ALREADY_EXISTS = -4
RPC_WALLET_ALREADY_LOADED = -35
FAUCET_WALLET = "boltcheck"
COINBASE_MATURITY = 100  # blocks before a coinbase output is spendable (consensus)
RPC_USER = "boltcheck"


class ChainStartFailed(ChainError):
    """The chain for launched nodes did not come up (bitcoind exited, or never answered)."""


@dataclass
class ChainService:
    node_rpc: BitcoindRpc  # as the launched nodes reach it
    backend: ChainBackend  # as the harness drives it (127.0.0.1)
    description: str
    stop: Callable[[], None] = field(repr=False)


def new_rpc_password() -> str:
    """A per-run regtest credential; never logged (BitcoindRpc hides it from repr)."""
    return secrets.token_hex(16)


def wait_bitcoind_ready(
    client: RpcClient, exited: Callable[[float], bool], timeout_s: float, log_tail: Callable[[], str]
) -> None:
    """Poll getblockchaininfo; between polls wait on bitcoind's exit (`exited(interval)`), never sleep."""
    deadline = time.monotonic() + timeout_s
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            client.call("getblockchaininfo")
            return
        except RpcError as exc:
            if exc.rpc_code != RPC_IN_WARMUP:
                raise
            last = exc.message
        except RpcTransportError as exc:
            last = str(exc)
        if exited(0.1):
            raise ChainStartFailed(f"bitcoind exited: {log_tail()}")
    raise ChainStartFailed(f"bitcoind not ready after {timeout_s:g}s ({last}): {log_tail()}")


def is_boltcheck_chain(client: RpcClient) -> bool:
    """True when the RPC at `client` is `boltcheck chain` (its getnetworkinfo subversion says so)."""
    return "boltcheck" in str(client.call("getnetworkinfo").get("subversion", ""))


def prepare_faucet(client: RpcClient) -> BitcoindChain:
    """Create (or load) the faucet wallet and mine it mature coins, then wrap the chain.

    `boltcheck chain` standing in for bitcoind has no wallet RPCs: its own faucet pays (BitcoindChain funds
    through `boltcheck_fund`, which mines the faucet's coins when it needs them); it only gets a tip past
    genesis, as lnd needs."""
    if is_boltcheck_chain(client):
        served = BitcoindChain(client)
        ensure_tip_after_genesis(served)
        return served
    try:
        client.call("createwallet", FAUCET_WALLET)
    except RpcError as exc:
        if exc.rpc_code not in (RPC_WALLET_ALREADY_EXISTS, RPC_WALLET_ALREADY_LOADED):
            raise
        try:
            client.call("loadwallet", FAUCET_WALLET)
        except RpcError as load_exc:
            if load_exc.rpc_code != RPC_WALLET_ALREADY_LOADED:
                raise
    chain = BitcoindChain(client, wallet_client=client.for_wallet(FAUCET_WALLET))
    if chain.height() <= COINBASE_MATURITY:
        chain.mine(COINBASE_MATURITY + 1 - chain.height())
    return chain


def ensure_tip_after_genesis(chain: ChainBackend) -> None:
    """lnd reports synced_to_chain only once its best block is recent; the regtest genesis block (2011)
    never is. A chain still at height 0 gets one block (to the faucet) before lnd starts."""
    if chain.height() == 0:
        chain.mine(1)


def served_embedded_chain(chain: Any, port: int) -> ChainService:
    """The scenario's own in-process EmbeddedChain, served over bitcoind-compatible RPC on 127.0.0.1
    (harness/chain/rpc_server.py) so that lightningd and lnd processes watch the very chain the steps mine."""
    from harness.chain.rpc_server import ChainRpcServer

    password = new_rpc_password()
    server = ChainRpcServer(chain, port=port, user=RPC_USER, password=password)
    server.start()
    rpc = BitcoindRpc("127.0.0.1", server.port, RPC_USER, password)
    return ChainService(rpc, chain, f"the scenario's embedded chain served on {server.url}", server.close)


def attached_chain(url: str) -> ChainService:
    """`--bitcoind-rpc http://user:password@host:port`: the chain attached nodes already use."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.hostname is None or parsed.port is None or parsed.username is None:
        raise ChainStartFailed("--bitcoind-rpc must be http://user:password@host:port")
    password = urllib.parse.unquote(parsed.password or "")
    user = urllib.parse.unquote(parsed.username)
    client = RpcClient(f"http://{parsed.hostname}:{parsed.port}/", user, password)
    chain = prepare_faucet(client)
    rpc = BitcoindRpc(parsed.hostname, parsed.port, user, password)
    return ChainService(rpc, chain, f"attached bitcoind at {parsed.hostname}:{parsed.port}", chain.close)
