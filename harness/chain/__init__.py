"""Regtest chains for the harness.

The ChainBackend interface, EmbeddedChain (Bitcoin Core's kernel in-process), BitcoindChain (a bitcoind
over JSON-RPC), and the bitcoind-compatible RPC server that `boltcheck chain` runs.
"""

from harness.chain.acceptance import TestAcceptResult
from harness.chain.backend import (
    BlockEvent,
    ChainBackend,
    FeeEstimate,
    MempoolEvent,
    OutPoint,
    Subscription,
    TxInfo,
    Utxo,
)
from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import (
    BlockRejected,
    ChainError,
    ChainTimeout,
    InsufficientFunds,
    InvalidAddress,
    MempoolConsensusMismatch,
    RpcError,
    TxDecodeError,
    TxRejected,
    UnknownBlock,
    UnknownTransaction,
)

__all__ = [
    "BlockEvent",
    "BlockRejected",
    "ChainBackend",
    "ChainError",
    "ChainTimeout",
    "EmbeddedChain",
    "FeeEstimate",
    "InsufficientFunds",
    "InvalidAddress",
    "MempoolConsensusMismatch",
    "MempoolEvent",
    "OutPoint",
    "RpcError",
    "Subscription",
    "TestAcceptResult",
    "TxDecodeError",
    "TxInfo",
    "TxRejected",
    "UnknownBlock",
    "UnknownTransaction",
    "Utxo",
]
