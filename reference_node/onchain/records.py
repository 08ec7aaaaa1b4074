"""What the monitor remembers of a channel: every commitment either side could broadcast, the peer's
revealed secrets and the preimages we know.

The channel machine folds settled HTLCs away (its ledger only holds what is in flight), so the HTLC sets of
older commitments exist only here: the monitor records each commitment when the channel signs or receives
it (`ChannelRecords.absorb_channel`, called with every persisted channel state). A revoked commitment can
then be rebuilt exactly, output by output, when it appears on chain (BOLT 5 "Revoked Transaction Close
Handling").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_node.bitcoin.hashes import sha256
from reference_node.channel.channel import Channel
from reference_node.channel.errors import ChannelError
from reference_node.channel.params import Side
from reference_node.channel.revocation import remote_secret
from reference_node.channel.signer import CommitmentView, FundingInfo
from reference_node.channel.states import FUNDED_STATES


@dataclass(frozen=True)
class LocalCommitmentRecord:
    """One of our commitments, with the peer's signatures that make it broadcastable."""

    view: CommitmentView
    remote_signature: bytes  # 64-byte compact, over the commitment
    remote_htlc_signatures: tuple[bytes, ...]  # compact, BOLT 3 output order


@dataclass(frozen=True)
class RevealedSecret:
    commitment_number: int
    per_commitment_secret: bytes

    def __repr__(self) -> str:
        return f"RevealedSecret({self.commitment_number}, <secret hidden>)"


@dataclass
class ChannelRecords:
    """Mutable record book; JSON round trip through reference_node.channel.serialize."""

    funding: FundingInfo | None = None
    local: list[LocalCommitmentRecord] = field(default_factory=list)
    remote: list[CommitmentView] = field(default_factory=list)
    # the peer's current and next commitment numbers (BOLT 5 "their current or next commitment")
    remote_current_number: int = -1
    remote_next_number: int | None = None
    local_current_number: int = -1
    secrets: list[RevealedSecret] = field(default_factory=list)
    preimages: list[bytes] = field(default_factory=list)

    # -- queries -----------------------------------------------------------------------------------------

    def local_record(self, number: int) -> LocalCommitmentRecord | None:
        for record in self.local:
            if record.view.commitment_number == number:
                return record
        return None

    def remote_view(self, number: int) -> CommitmentView | None:
        for view in self.remote:
            if view.commitment_number == number:
                return view
        return None

    def secret_of(self, number: int) -> bytes | None:
        for revealed in self.secrets:
            if revealed.commitment_number == number:
                return revealed.per_commitment_secret
        return None

    def preimage_for(self, payment_hash: bytes) -> bytes | None:
        for preimage in self.preimages:
            if sha256(preimage) == payment_hash:
                return preimage
        return None

    # -- updates -----------------------------------------------------------------------------------------

    def add_local(self, record: LocalCommitmentRecord) -> None:
        number = record.view.commitment_number
        if self.local_record(number) is None:
            self.local.append(record)
        self.local_current_number = max(self.local_current_number, number)

    def add_remote(self, view: CommitmentView) -> None:
        if self.remote_view(view.commitment_number) is None:
            self.remote.append(view)

    def add_secret(self, number: int, secret: bytes) -> None:
        if self.secret_of(number) is None:
            self.secrets.append(RevealedSecret(number, secret))

    def add_preimage(self, preimage: bytes) -> bool:
        """True if the preimage was new."""
        if preimage in self.preimages:
            return False
        self.preimages.append(preimage)
        return True

    def absorb_channel(self, channel: Channel) -> None:
        """Record everything a funded channel can broadcast or be confronted with right now: our latest
        commitment (with the peer's signatures), their current and next commitments, the secrets they
        revealed, and the preimages of HTLC removals in the update log."""
        data = channel.data
        if data.state not in FUNDED_STATES or data.ledger is None:
            return
        try:
            self.funding = channel.funding_info()
        except ChannelError:
            return  # funding not known yet: nothing can be broadcast
        ledger = data.ledger
        if data.remote_commitment_signature is not None:
            self.add_local(
                LocalCommitmentRecord(
                    channel.commitment_view(Side.LOCAL, ledger.local_ctn),
                    data.remote_commitment_signature,
                    tuple(data.remote_htlc_signatures),
                )
            )
        if data.remote_current_point is not None:
            self.add_remote(channel.commitment_view(Side.REMOTE, ledger.remote_ctn))
            self.remote_current_number = ledger.remote_ctn
        self.remote_next_number = None
        if ledger.remote_pending and data.remote_next_point is not None:
            self.add_remote(channel.commitment_view(Side.REMOTE, ledger.remote_ctn + 1))
            self.remote_next_number = ledger.remote_ctn + 1
        for number in range(ledger.remote_ctn):
            if self.secret_of(number) is None:
                secret = remote_secret(data, number)
                if secret is not None:
                    self.add_secret(number, secret)
        for update in ledger.updates:
            if update.payment_preimage is not None:
                self.add_preimage(update.payment_preimage)
