"""`Channel`: the BOLT 2 state machine of one channel, sans I/O.

Feed it peer messages (`handle`), commands (`add_htlc`, `commit`, `shutdown`, ...) and chain events
(`funding_confirmed`, `closing_confirmed`); each call returns the list of `Action`s to perform, in order.
It never opens a socket, sleeps, reads a clock or touches disk.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from reference_node.channel import errors as e
from reference_node.channel.actions import Action
from reference_node.channel.closing_simple import SimpleCloseMixin
from reference_node.channel.data import ChannelData, ClosingState
from reference_node.channel.messages import (
    AcceptChannel,
    ChannelMessage,
    ChannelReady,
    ChannelReestablish,
    ClosingComplete,
    ClosingSig,
    ClosingSigned,
    CommitmentSigned,
    Error,
    FundingCreated,
    FundingSigned,
    OpenChannel,
    RevokeAndAck,
    Shutdown,
    UpdateAddHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    UpdateFulfillHtlc,
    Warning,
)
from reference_node.channel.params import ChannelParams, ChannelType, PeerFeatures, Policy, Side
from reference_node.channel.serialize import load
from reference_node.channel.signer import ChannelSigner
from reference_node.channel.states import ChannelState
from reference_node.transactions.types import TransactionBuildError

# Which state each establishment message is valid in; updates/commitments check their own states.
EXPECTED_STATE: dict[type[ChannelMessage], frozenset[ChannelState]] = {
    OpenChannel: frozenset({ChannelState.ACCEPTER_INIT}),
    AcceptChannel: frozenset({ChannelState.OPEN_CHANNEL_SENT}),
    FundingCreated: frozenset({ChannelState.ACCEPT_CHANNEL_SENT}),
    FundingSigned: frozenset({ChannelState.FUNDING_CREATED_SENT}),
    ChannelReady: frozenset(
        {ChannelState.AWAITING_CHANNEL_READY, ChannelState.NORMAL, ChannelState.SHUTTING_DOWN}
    ),
}


class LocalFailure(e.ChannelError):
    """We fail the channel ourselves (force close, timeout)."""


class PeerError(e.PeerViolation):
    REQUIREMENT = "an `error` from the peer fails the channel (BOLT 1)"


class Channel(SimpleCloseMixin):
    """One channel. Construct with `new_outbound`/`new_inbound`, or `from_json` after a restart."""

    # -- construction ----------------------------------------------------------------------------------------

    @classmethod
    def new_outbound(
        cls,
        *,
        signer: ChannelSigner,
        policy: Policy,
        chain_hash: bytes,
        temporary_channel_id: bytes,
        funding_satoshis: int,
        push_msat: int,
        feerate_per_kw: int,
        local_params: ChannelParams,
        channel_type: ChannelType,
        announce_channel: bool,
        features: PeerFeatures,
        shutdown_scriptpubkey: bytes,
        upfront_shutdown_script: bytes = b"",
        local_alias: int | None = None,
    ) -> tuple[Channel, list[Action]]:
        """Open a channel as funder: returns the channel and the `open_channel` to send."""
        if funding_satoshis >= 1 << 24 and not (
            features.option_support_large_channel and policy.supports_large_channel
        ):
            raise e.CommandRejected("MUST set `funding_satoshis` to less than 2^24 satoshi")
        if push_msat > 1000 * funding_satoshis:
            raise e.CommandRejected("MUST set `push_msat` to equal or less than 1000 * `funding_satoshis`")
        if local_params.channel_reserve_satoshis < local_params.dust_limit_satoshis:
            raise e.CommandRejected(
                "MUST set `channel_reserve_satoshis` greater than or equal to `dust_limit_satoshis`"
            )
        if announce_channel and channel_type.scid_alias:
            raise e.CommandRejected("MUST NOT send `channel_type` with the `option_scid_alias` bit set")
        data = ChannelData(
            state=ChannelState.OPENER_INIT,
            opener=Side.LOCAL,
            chain_hash=chain_hash,
            temporary_channel_id=temporary_channel_id,
            funding_satoshis=funding_satoshis,
            push_msat=push_msat,
            initial_feerate_per_kw=feerate_per_kw,
            channel_type=channel_type,
            channel_flags=1 if announce_channel else 0,
            features=features,
            local_params=local_params,
            local_basepoints=signer.basepoints(),
            local_upfront_shutdown_script=upfront_shutdown_script,
            local_alias=local_alias,
            closing=ClosingState(local_scriptpubkey=upfront_shutdown_script or shutdown_scriptpubkey),
        )
        channel = cls(data, signer, policy)
        channel._transition(ChannelState.OPEN_CHANNEL_SENT, "open_channel sent")
        bp = data.local_basepoints
        channel._send(
            OpenChannel(
                chain_hash=chain_hash,
                temporary_channel_id=temporary_channel_id,
                funding_satoshis=funding_satoshis,
                push_msat=push_msat,
                dust_limit_satoshis=local_params.dust_limit_satoshis,
                max_htlc_value_in_flight_msat=local_params.max_htlc_value_in_flight_msat,
                channel_reserve_satoshis=local_params.channel_reserve_satoshis,
                htlc_minimum_msat=local_params.htlc_minimum_msat,
                feerate_per_kw=feerate_per_kw,
                to_self_delay=local_params.to_self_delay,
                max_accepted_htlcs=local_params.max_accepted_htlcs,
                funding_pubkey=bp.funding_pubkey,
                revocation_basepoint=bp.revocation_basepoint,
                payment_basepoint=bp.payment_basepoint,
                delayed_payment_basepoint=bp.delayed_payment_basepoint,
                htlc_basepoint=bp.htlc_basepoint,
                first_per_commitment_point=signer.per_commitment_point(0),
                channel_flags=data.channel_flags,
                # "if it includes `open_channel_tlvs`: MUST include `upfront_shutdown_script`"
                upfront_shutdown_script=upfront_shutdown_script,
                channel_type=channel_type.to_bytes(),
            )
        )
        return channel, channel._take()

    @classmethod
    def new_inbound(
        cls,
        *,
        signer: ChannelSigner,
        policy: Policy,
        local_params: ChannelParams,
        minimum_depth: int,
        features: PeerFeatures,
        shutdown_scriptpubkey: bytes,
        upfront_shutdown_script: bytes = b"",
        local_alias: int | None = None,
    ) -> Channel:
        """A channel waiting for the peer's `open_channel` (pass it to `handle`)."""
        data = ChannelData(
            state=ChannelState.ACCEPTER_INIT,
            opener=Side.REMOTE,
            chain_hash=b"",
            temporary_channel_id=b"",
            funding_satoshis=0,
            push_msat=0,
            initial_feerate_per_kw=0,
            channel_type=ChannelType(),
            channel_flags=0,
            features=features,
            local_params=local_params,
            local_basepoints=signer.basepoints(),
            local_upfront_shutdown_script=upfront_shutdown_script,
            minimum_depth=minimum_depth,
            local_alias=local_alias,
            closing=ClosingState(local_scriptpubkey=upfront_shutdown_script or shutdown_scriptpubkey),
        )
        return cls(data, signer, policy)

    @classmethod
    def from_json(cls, state: dict[str, Any], signer: ChannelSigner, policy: Policy) -> Channel:
        """Restore a channel from a `PersistState` snapshot. The link is down after a restart: call
        `peer_reconnected` once the transport is back."""
        data = load(ChannelData, state)
        data.connected = False
        data.reestablish_sent = False
        data.reestablish_received = False
        channel = cls(data, signer, policy)
        if data.ledger is not None:
            data.ledger.drop_uncommitted_remote()
            data.ledger.compact()  # states persisted by older code may hold settled entries
        return channel

    # -- input: peer messages --------------------------------------------------------------------------------

    def handle(self, message: ChannelMessage) -> list[Action]:
        """Process one message from the peer. A protocol violation never raises: it becomes the reaction the
        spec asks for (error + ChannelFailed, or warning + Disconnect)."""
        if self.data.state in (ChannelState.FAILED, ChannelState.CLOSED):
            return []  # "ignore any other packets for that channel"
        handler = self._handlers().get(type(message))
        snapshot = copy.deepcopy(self.data)
        try:
            if handler is None:
                raise e.UnexpectedMessage(f"{message.NAME} is not a channel message we handle")
            allowed = EXPECTED_STATE.get(type(message))
            if allowed is not None and self.data.state not in allowed:
                raise e.UnexpectedMessage(f"{message.NAME} in state {self.data.state.value}")
            if (
                self.data.reestablish_sent
                and not self.data.reestablish_received
                and not isinstance(message, ChannelReestablish | Error | Warning)
            ):
                raise e.UnexpectedMessage(f"{message.NAME} before channel_reestablish")
            try:
                handler(message)
            except TransactionBuildError as exc:
                raise e.CommitmentUnbuildable(f"after {message.NAME}: {exc}") from exc
        except e.PeerViolation as err:
            self.data = snapshot
            self._out = []
            self._react(err)
        return self._take()

    def is_link_ready(self) -> bool:
        """Connected and, after a reconnection, past the peer's `channel_reestablish`: updates may flow."""
        return self._link_ready()

    def _handlers(self) -> dict[type[ChannelMessage], Callable[[Any], None]]:
        return {
            OpenChannel: self._on_open_channel,
            AcceptChannel: self._on_accept_channel,
            FundingCreated: self._on_funding_created,
            FundingSigned: self._on_funding_signed,
            ChannelReady: self._on_channel_ready,
            UpdateAddHtlc: self._on_update_add_htlc,
            UpdateFulfillHtlc: self._on_update_fulfill_htlc,
            UpdateFailHtlc: self._on_update_fail_htlc,
            UpdateFailMalformedHtlc: self._on_update_fail_malformed_htlc,
            UpdateFee: self._on_update_fee,
            CommitmentSigned: self._on_commitment_signed,
            RevokeAndAck: self._on_revoke_and_ack,
            ChannelReestablish: self._on_channel_reestablish,
            Shutdown: self._on_shutdown,
            ClosingSigned: self._on_closing_signed,
            ClosingComplete: self._on_closing_complete,
            ClosingSig: self._on_closing_sig,
            Error: self._on_error,
            Warning: self._on_warning,
        }

    def _on_error(self, msg: Error) -> None:
        # BOLT 1: "MUST fail the channel referred to by the error message"; no error is sent back
        self._fail(PeerError(msg.data.decode("utf-8", "replace")), send_error=False)

    def _on_warning(self, msg: Warning) -> None:
        """A warning changes nothing in the channel (BOLT 1)."""

    # -- input: commands and chain events --------------------------------------------------------------------

    def _command(self, run: Callable[[], object]) -> list[Action]:
        snapshot = copy.deepcopy(self.data)
        try:
            run()
        except e.FundingOutputMismatch as err:
            self.data = snapshot
            self._out = []
            self._fail(err, broadcast=False)
        except e.ChannelError:
            self.data = snapshot
            self._out = []
            raise
        return self._take()

    def funding_tx_built(
        self, funding_txid: bytes, funding_output_index: int, funding_tx: bytes
    ) -> list[Action]:
        if self.data.state is not ChannelState.AWAITING_FUNDING_TX:
            raise e.CommandRejected(f"no funding transaction expected in state {self.data.state.value}")
        return self._command(lambda: self._funding_tx_built(funding_txid, funding_output_index, funding_tx))

    def funding_confirmed(
        self, depth: int, block_height: int, tx_index: int, output_value_sat: int, output_scriptpubkey: bytes
    ) -> list[Action]:
        """Chain event: the funding transaction is `depth` blocks deep, mined at
        (`block_height`, `tx_index`)."""
        if self.data.state in (ChannelState.FAILED, ChannelState.CLOSED):
            return []
        return self._command(
            lambda: self._funding_confirmed(
                depth, block_height, tx_index, output_value_sat, output_scriptpubkey
            )
        )

    def add_htlc(
        self,
        amount_msat: int,
        payment_hash: bytes,
        cltv_expiry: int,
        onion_routing_packet: bytes,
        path_key: bytes | None = None,
    ) -> tuple[int, list[Action]]:
        """Offer an HTLC; returns its id. Call `commit` to sign it into the peer's commitment."""
        ids: list[int] = []
        actions = self._command(
            lambda: ids.append(
                self._add_htlc(amount_msat, payment_hash, cltv_expiry, onion_routing_packet, path_key)
            )
        )
        return ids[0], actions

    def fulfill_htlc(self, htlc_id: int, payment_preimage: bytes) -> list[Action]:
        return self._command(lambda: self._fulfill_htlc(htlc_id, payment_preimage))

    def fail_htlc(self, htlc_id: int, reason: bytes) -> list[Action]:
        return self._command(lambda: self._fail_htlc(htlc_id, reason))

    def fail_malformed_htlc(self, htlc_id: int, sha256_of_onion: bytes, failure_code: int) -> list[Action]:
        return self._command(lambda: self._fail_malformed_htlc(htlc_id, sha256_of_onion, failure_code))

    def update_fee(self, feerate_per_kw: int) -> list[Action]:
        return self._command(lambda: self._update_fee(feerate_per_kw))

    def commit(self) -> list[Action]:
        """Send `commitment_signed` covering every update the peer's next commitment should include."""
        return self._command(self._commit)

    def shutdown(self, scriptpubkey: bytes | None = None, fee_satoshis: int | None = None) -> list[Action]:
        return self._command(lambda: self._shutdown(scriptpubkey, fee_satoshis))

    def send_closing_complete(self, fee_satoshis: int, locktime: int = 0) -> list[Action]:
        """option_simple_close: (re)offer a closing transaction we pay `fee_satoshis` for."""
        if self.data.state not in (ChannelState.NEGOTIATING_CLOSING, ChannelState.CLOSING_BROADCAST):
            raise e.CommandRejected(f"no closing negotiation in state {self.data.state.value}")
        return self._command(lambda: self._send_closing_complete(fee_satoshis, locktime))

    def closing_confirmed(self, closing_txid: bytes) -> list[Action]:
        """Chain event: a mutual closing transaction confirmed."""
        return self._command(lambda: self._closing_confirmed(closing_txid))

    def force_close(self, reason: str = "force close") -> list[Action]:
        """Unilateral close (BOLT 5 "Failing a Channel"): send `error`, broadcast our latest commitment.
        Also what a node's timers call when a required response never comes (BOLT 2 allows failing then)."""
        if self.data.state in (ChannelState.FAILED, ChannelState.CLOSED):
            raise e.CommandRejected(f"channel already {self.data.state.value}")
        return self._command(lambda: self._fail(LocalFailure(reason)))

    def forget_unconfirmed_funding(self) -> list[Action]:
        """Fundee only: "SHOULD forget the channel if it does not see the correct funding transaction after a
        timeout of 2016 blocks" (the node counts the blocks). Nothing is broadcast: nothing of ours is at
        risk."""
        d = self.data
        if (
            d.opener is not Side.REMOTE
            or d.state is not ChannelState.AWAITING_CHANNEL_READY
            or d.funding_depth
        ):
            raise e.CommandRejected("only an unconfirmed channel we did not fund can be forgotten")
        return self._command(
            lambda: self._fail(
                LocalFailure("funding not confirmed in time"), broadcast=False, send_error=False
            )
        )

    def peer_disconnected(self) -> list[Action]:
        return self._command(self._peer_disconnected)

    def peer_reconnected(self) -> list[Action]:
        """The transport is back: returns the `channel_reestablish` to send."""
        return self._command(self._peer_reconnected)

    # -- queries ---------------------------------------------------------------------------------------------

    def balances_msat(self) -> tuple[int, int]:
        """(ours, theirs) in our current commitment, before fees, HTLCs in flight excluded."""
        view = self.ledger.current_view(Side.LOCAL)
        return view.local_msat, view.remote_msat

    def commitment_fee_sat(self, holder: Side = Side.LOCAL) -> int:
        view = self.ledger.current_view(holder)
        return self.figures(holder, view).funder_cost_sat
