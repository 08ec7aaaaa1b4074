"""BOLT 5 on-chain handling, sans I/O: watch the chain for every channel and resolve every output.

One `ChannelMonitor` per channel (monitor.py). The node feeds it the channel's state after every persisted
change (`absorb_channel`), every block (`block_connected`, `blocks_disconnected` on a reorg), preimages it
learns, and wallet coins for fees (`add_fee_input`); it returns actions (model.py): transactions to
broadcast (each naming the BOLT 5 requirements it carries out), preimages seen on chain (to settle the
upstream HTLC), HTLCs resolved on chain, deadlines that force the channel on chain (BOLT 2), and the final
"irrevocably resolved".

Modules: model (values, actions, errors), records (the commitments either side can broadcast now, the
peer's secrets in BOLT 3's 49-slot form, preimages, and the `CommitmentArchive` of every commitment ever
recorded), archive (that archive in the node's store, appended in the channel state's transaction),
classify (which commitment spent the funding output), resolve (replayable resolution state), plan (the
claims due at a tip), claims (transaction builders: sweeps, batched penalty, zero-fee HTLC transactions
with a fee input, anchor sweep and CPFP), deadlines (BOLT 2 HTLC deadlines), monitor.
"""

from reference_node.onchain.model import (
    BroadcastTx,
    ChannelCloseSeen,
    ChannelResolved,
    ClaimKind,
    CloseKind,
    FeeInput,
    FeeInputNeeded,
    GoOnchain,
    HtlcResolvedOnchain,
    NotRevoked,
    OnchainAction,
    OnchainError,
    PreimageLearned,
    UnknownCommitment,
)
from reference_node.onchain.monitor import ChannelMonitor, MonitorConfig

__all__ = [
    "BroadcastTx",
    "ChannelCloseSeen",
    "ChannelMonitor",
    "ChannelResolved",
    "ClaimKind",
    "CloseKind",
    "FeeInput",
    "FeeInputNeeded",
    "GoOnchain",
    "HtlcResolvedOnchain",
    "MonitorConfig",
    "NotRevoked",
    "OnchainAction",
    "OnchainError",
    "PreimageLearned",
    "UnknownCommitment",
]
