"""Disconnection and `channel_reestablish` (BOLT 2 "Message Retransmission")."""

from __future__ import annotations

from reference_node.channel import errors as e
from reference_node.channel.ledger import LoggedUpdate, UpdateKind
from reference_node.channel.messages import (
    ChannelMessage,
    ChannelReestablish,
    Error,
    Shutdown,
    UpdateAddHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    UpdateFulfillHtlc,
)
from reference_node.channel.normal import NormalMixin
from reference_node.channel.revocation import remote_secret
from reference_node.channel.states import FUNDED_STATES, ChannelState

ZERO_SECRET = bytes(32)

# Before these states there is nothing worth remembering: BOLT 2 says the opener "SHOULD NOT remember the
# channel" before broadcasting the funding tx, and the fundee before sending funding_signed.
FORGET_ON_DISCONNECT = frozenset(
    {
        ChannelState.OPEN_CHANNEL_SENT,
        ChannelState.AWAITING_FUNDING_TX,
        ChannelState.FUNDING_CREATED_SENT,
        ChannelState.ACCEPTER_INIT,
        ChannelState.ACCEPT_CHANNEL_SENT,
    }
)


class ChannelForgotten(e.ChannelError):
    """The connection dropped during establishment: the channel is abandoned (nothing was at risk)."""


class ReestablishMixin(NormalMixin):
    def _peer_disconnected(self) -> None:
        d = self.data
        d.connected = False
        d.reestablish_sent = False
        d.reestablish_received = False
        if d.state in FORGET_ON_DISCONNECT:
            self._fail(
                ChannelForgotten("disconnected during establishment"), broadcast=False, send_error=False
            )
            return
        if d.ledger is not None:
            # "MUST reverse any uncommitted updates sent by the other side"
            d.ledger.drop_uncommitted_remote()
        # legacy closing negotiation "restarts on reconnection"
        d.closing.last_sent_fee_satoshis = None
        d.closing.last_received_fee_satoshis = None
        d.closing.sent_fee_range = None
        d.closing.received_fee_range = None
        d.closing.simple_offer = None

    def _peer_reconnected(self) -> None:
        d = self.data
        if d.state is ChannelState.FAILED:
            # "if a channel is in an error state: SHOULD retransmit the error packet and ignore any other
            # packets for that channel"
            if d.sent_error is not None:
                self._send(Error(self.channel_id, d.sent_error))
            return
        if d.state not in FUNDED_STATES:
            raise e.CommandRejected(f"no channel_reestablish in state {d.state.value}")
        d.connected = True
        d.reestablish_sent = True
        self._send(self._reestablish_message())

    def _reestablish_message(self) -> ChannelReestablish:
        ledger = self.ledger
        last_secret = ZERO_SECRET
        if ledger.remote_ctn > 0:
            secret = remote_secret(self.data, ledger.remote_ctn - 1)
            assert secret is not None
            last_secret = secret
        return ChannelReestablish(
            channel_id=self.channel_id,
            # "the commitment number of the next `commitment_signed` it expects to receive"
            next_commitment_number=ledger.local_ctn + 1,
            # "the commitment number of the next `revoke_and_ack` message it expects to receive"
            next_revocation_number=ledger.remote_ctn,
            your_last_per_commitment_secret=last_secret,
            my_current_per_commitment_point=self.signer.per_commitment_point(ledger.local_ctn),
        )

    def _on_channel_reestablish(self, msg: ChannelReestablish) -> None:
        d = self.data
        ledger = self.ledger
        if not d.reestablish_sent:
            # the peer reconnected before our node told us about it: behave as after a disconnection
            self._peer_disconnected()
            self._peer_reconnected()
        if msg.next_commitment_number == 0:
            raise e.ReestablishZeroCommitmentNumber("next_commitment_number is 0")
        # option_data_loss_protect: a revocation number beyond ours is only believable with our secret
        if msg.next_revocation_number > ledger.local_ctn:
            claimed = self.signer.per_commitment_secret(msg.next_revocation_number - 1)
            if msg.your_last_per_commitment_secret == claimed:
                raise e.WeAreBehind(
                    f"peer expects revocation {msg.next_revocation_number}, "
                    f"we are at commitment {ledger.local_ctn}"
                )
            raise e.ReestablishWrongSecret("next_revocation_number ahead of us without a matching secret")
        expected_secret = (
            self.signer.per_commitment_secret(msg.next_revocation_number - 1)
            if msg.next_revocation_number > 0
            else ZERO_SECRET
        )
        if msg.your_last_per_commitment_secret != expected_secret:
            raise e.ReestablishWrongSecret(
                f"your_last_per_commitment_secret wrong for "
                f"next_revocation_number {msg.next_revocation_number}"
            )
        resend_revoke = False
        if ledger.local_ctn > 0 and msg.next_revocation_number == ledger.local_ctn - 1:
            resend_revoke = True
        elif msg.next_revocation_number != ledger.local_ctn:
            raise e.ReestablishRevocationNumberMismatch(
                f"next_revocation_number {msg.next_revocation_number}, our commitment is {ledger.local_ctn}"
            )
        resend_commitment = False
        if ledger.remote_pending and msg.next_commitment_number == ledger.remote_ctn + 1:
            resend_commitment = True
        elif msg.next_commitment_number != ledger.remote_ctn + 1 + (1 if ledger.remote_pending else 0):
            raise e.ReestablishCommitmentNumberMismatch(
                f"next_commitment_number {msg.next_commitment_number}, "
                f"remote commitment is {ledger.remote_ctn}"
                f"{' (+1 pending)' if ledger.remote_pending else ''}"
            )
        d.reestablish_received = True
        self._persist()
        # "if `next_commitment_number` is 1 in both the `channel_reestablish` it sent and received"
        if msg.next_commitment_number == 1 and ledger.local_ctn == 0 and d.channel_ready_sent:
            self._send(self._channel_ready_message())
        commitment_part: list[ChannelMessage] = []
        if resend_commitment:
            commitment_part = [self._update_message(u) for u in ledger.unsettled_remote_signed()]
            commitment_part.append(self._commitment_signed_message(ledger.remote_ctn + 1))
        revoke_part: list[ChannelMessage] = [self._revoke_and_ack_message()] if resend_revoke else []
        # "in the same relative order as initially transmitted"
        ordered = (
            revoke_part + commitment_part
            if d.commitment_signed_after_revoke
            else commitment_part + revoke_part
        )
        for message in ordered:
            self._send(message)
        if d.closing.shutdown_sent:
            # "if it has sent a previous `shutdown`: MUST retransmit `shutdown`"
            self._send(Shutdown(self.channel_id, d.closing.local_scriptpubkey))
        # our updates the peer reversed on disconnection go out again, in their original order
        for update in ledger.unsigned_local_updates():
            self._send(self._update_message(update))
        self._after_reestablish()

    def _after_reestablish(self) -> None:
        """Hook for the closing flow; then sign whatever is pending."""
        self._auto_commit()

    def _update_message(self, u: LoggedUpdate) -> ChannelMessage:
        cid = self.channel_id
        if u.kind is UpdateKind.ADD:
            return UpdateAddHtlc(
                cid,
                u.htlc_id,
                u.amount_msat,
                u.payment_hash,
                u.cltv_expiry,
                u.onion_routing_packet,
                u.path_key,
            )
        if u.kind is UpdateKind.FULFILL:
            assert u.payment_preimage is not None
            return UpdateFulfillHtlc(cid, u.htlc_id, u.payment_preimage)
        if u.kind is UpdateKind.FAIL:
            assert u.reason is not None
            return UpdateFailHtlc(cid, u.htlc_id, u.reason)
        if u.kind is UpdateKind.FAIL_MALFORMED:
            assert u.sha256_of_onion is not None and u.failure_code is not None
            return UpdateFailMalformedHtlc(cid, u.htlc_id, u.sha256_of_onion, u.failure_code)
        return UpdateFee(cid, u.feerate_per_kw)
