"""Errors raised by chain backends, each carrying what went wrong.

`TxRejected.reason` uses Bitcoin Core's reject-reason strings (for example "txn-mempool-conflict",
"non-BIP68-final", "mandatory-script-verify-flag-failed (...)") so a user comparing against bitcoind sees the
same words; `rpc_code` is the JSON-RPC error code bitcoind returns for it.
"""

from __future__ import annotations

# bitcoind's JSON-RPC error codes (src/rpc/protocol.h)
RPC_INVALID_REQUEST = -32600
RPC_METHOD_NOT_FOUND = -32601
RPC_INVALID_PARAMS = -32602
RPC_INTERNAL_ERROR = -32603
RPC_PARSE_ERROR = -32700
RPC_MISC_ERROR = -1
RPC_TYPE_ERROR = -3
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_OUT_OF_MEMORY = -7
RPC_INVALID_PARAMETER = -8
RPC_DESERIALIZATION_ERROR = -22
RPC_VERIFY_ERROR = -25
RPC_VERIFY_REJECTED = -26
RPC_VERIFY_ALREADY_IN_CHAIN = -27
RPC_IN_WARMUP = -28
RPC_WALLET_INSUFFICIENT_FUNDS = -6


class ChainError(Exception):
    """Base of every chain backend error."""

    rpc_code: int = RPC_MISC_ERROR


class TxDecodeError(ChainError):
    """Bytes that are not a transaction."""

    rpc_code = RPC_DESERIALIZATION_ERROR


class TxRejected(ChainError):
    """The mempool refused a transaction; `reason` is Bitcoin Core's reject reason."""

    def __init__(self, txid: str, reason: str, rpc_code: int = RPC_VERIFY_REJECTED) -> None:
        super().__init__(f"{reason} (txid {txid})")
        self.txid = txid
        self.reason = reason
        self.rpc_code = rpc_code


class UnknownBlock(ChainError):
    """A block hash or height the chain does not have."""

    rpc_code = RPC_INVALID_ADDRESS_OR_KEY


class UnknownTransaction(ChainError):
    """A txid neither in the mempool nor in any block of the active chain."""

    rpc_code = RPC_INVALID_ADDRESS_OR_KEY


class InvalidAddress(ChainError):
    """An address string that does not decode for regtest."""

    rpc_code = RPC_INVALID_ADDRESS_OR_KEY


class BlockRejected(ChainError):
    """The consensus engine refused a block this chain built or was given."""

    rpc_code = RPC_VERIFY_ERROR

    def __init__(self, block_hash: str, reason: str) -> None:
        super().__init__(f"block {block_hash} rejected: {reason}")
        self.block_hash = block_hash
        self.reason = reason


class MempoolConsensusMismatch(BlockRejected):
    """The mempool accepted transactions the consensus engine rejects in a block: a bug, never ignored."""

    def __init__(self, block_hash: str, txids: list[str]) -> None:
        super().__init__(
            block_hash, f"mempool accepted txs the kernel rejects in a block: {', '.join(txids)}"
        )
        self.txids = txids


class IndexInconsistent(ChainError):
    """The chain's own index disagrees with the kernel or with a replay of its blocks: a bug."""


class InsufficientFunds(ChainError):
    """The faucet cannot pay the requested amount."""

    rpc_code = RPC_WALLET_INSUFFICIENT_FUNDS


class ChainTimeout(ChainError):
    """A wait (for a height, a transaction...) ran out of time."""


class RpcError(ChainError):
    """An error answer from a bitcoind-compatible JSON-RPC server."""

    def __init__(self, code: int, message: str, method: str = "") -> None:
        super().__init__(f"{method}: {message} (code {code})" if method else f"{message} (code {code})")
        self.rpc_code = code
        self.message = message
        self.method = method


class RpcTransportError(ChainError):
    """The JSON-RPC server could not be reached or answered something that is not JSON-RPC."""
