"""Channel establishment v1 (BOLT 2 "Channel Establishment v1"): open_channel ... channel_ready."""

from __future__ import annotations

import hashlib

from coincurve import PublicKey

from reference_node.channel import errors as e
from reference_node.channel import fees
from reference_node.channel.actions import BroadcastTx, ChannelOpened, FundingOutputNeeded, WatchFunding
from reference_node.channel.core import ChannelCore
from reference_node.channel.ledger import Ledger
from reference_node.channel.messages import (
    AcceptChannel,
    ChannelReady,
    FundingCreated,
    FundingSigned,
    OpenChannel,
)
from reference_node.channel.params import (
    Basepoints,
    ChannelParams,
    ChannelType,
    ChannelTypeError,
    ShortChannelId,
    Side,
)
from reference_node.channel.signer import CommitmentSignatureError, CommitmentSignatures, HtlcSignatureError
from reference_node.channel.states import ChannelState

ANNOUNCE_CHANNEL_BIT = 0x01


def is_valid_point(data: bytes) -> bool:
    """A valid secp256k1 pubkey in compressed format (BOLT 2 open_channel)."""
    if len(data) != 33 or data[0] not in (2, 3):
        return False
    try:
        PublicKey(data)
    except ValueError:
        return False
    return True


def default_alias(channel_id: bytes) -> int:
    """An alias "not related to the real `short_channel_id`" when the node did not choose one: derived from
    the channel_id (so it is stable across restarts and, being 64 random-looking bits, unique in practice);
    a node that tracks aliases across peers passes its own `local_alias` instead."""
    return int.from_bytes(hashlib.sha256(b"scid alias" + channel_id).digest()[:8], "big")


def derive_channel_id(funding_txid: bytes, funding_output_index: int) -> bytes:
    """BOLT 2 "Definition of `channel_id`": funding_txid XOR funding_output_index
    (big-endian, into the last 2 bytes)."""
    tail = int.from_bytes(funding_txid[-2:], "big") ^ funding_output_index
    return funding_txid[:-2] + tail.to_bytes(2, "big")


class EstablishMixin(ChannelCore):
    # -- checks shared by open_channel and accept_channel ----------------------------------------------------

    def _check_common_fields(
        self,
        to_self_delay: int,
        max_accepted_htlcs: int,
        dust_limit_satoshis: int,
        channel_reserve_satoshis: int,
        htlc_minimum_msat: int,
        max_htlc_value_in_flight_msat: int,
        points: dict[str, bytes],
        funding_satoshis: int,
    ) -> None:
        policy = self.policy
        if to_self_delay > policy.max_to_self_delay:
            raise e.ToSelfDelayTooLarge(
                f"to_self_delay {to_self_delay} > our maximum {policy.max_to_self_delay}"
            )
        if max_accepted_htlcs > fees.MAX_ACCEPTED_HTLCS_LIMIT:
            raise e.MaxAcceptedHtlcsTooLarge(f"max_accepted_htlcs {max_accepted_htlcs}")
        for name, point in points.items():
            if not is_valid_point(point):
                raise e.InvalidBasepoint(f"{name} {point.hex()} is not a valid compressed secp256k1 point")
        if dust_limit_satoshis > channel_reserve_satoshis:
            raise e.DustLimitAboveReserve(
                f"dust_limit_satoshis {dust_limit_satoshis} > "
                f"channel_reserve_satoshis {channel_reserve_satoshis}"
            )
        if dust_limit_satoshis < fees.MIN_DUST_LIMIT_SATOSHIS:
            raise e.DustLimitTooSmall(f"dust_limit_satoshis {dust_limit_satoshis}")
        # the receiver's MAY-fail list, as local policy
        if htlc_minimum_msat > policy.max_htlc_minimum_msat:
            raise e.OpenParameterRejected(f"htlc_minimum_msat {htlc_minimum_msat} too large")
        if max_htlc_value_in_flight_msat < policy.min_max_htlc_value_in_flight_msat:
            raise e.OpenParameterRejected(
                f"max_htlc_value_in_flight_msat {max_htlc_value_in_flight_msat} too small"
            )
        if channel_reserve_satoshis * 100 > funding_satoshis * policy.max_channel_reserve_ratio_percent:
            raise e.OpenParameterRejected(f"channel_reserve_satoshis {channel_reserve_satoshis} too large")
        if max_accepted_htlcs < policy.min_max_accepted_htlcs:
            raise e.OpenParameterRejected(f"max_accepted_htlcs {max_accepted_htlcs} too small")
        if dust_limit_satoshis > policy.max_dust_limit_satoshis:
            raise e.OpenParameterRejected(f"dust_limit_satoshis {dust_limit_satoshis} too large")

    def _parse_channel_type(self, raw: bytes | None, announce: bool) -> ChannelType:
        if raw is None:
            raise e.ChannelTypeMissing("no channel_type TLV")
        try:
            channel_type = ChannelType.from_bytes(raw)
        except ChannelTypeError as exc:
            raise e.ChannelTypeUnsuitable(str(exc)) from exc
        if channel_type.anchors and not (self.policy.supports_anchors and self.data.features.option_anchors):
            raise e.ChannelTypeUnsuitable("option_anchors not supported or not negotiated")
        if channel_type.scid_alias and announce:
            # the sender "MUST NOT send `channel_type` with the `option_scid_alias` bit set" when announcing
            raise e.ChannelTypeUnsuitable("option_scid_alias with announce_channel set")
        if channel_type.zeroconf:
            if not self.policy.trust_zeroconf:
                raise e.ZeroconfNotTrusted("option_zeroconf requested by an untrusted peer")
        elif channel_type not in self.policy.accepted_channel_types:
            raise e.ChannelTypeUnsuitable(f"channel_type {sorted(channel_type.bits())} not accepted")
        return channel_type

    # -- accepter --------------------------------------------------------------------------------------------

    def _on_open_channel(self, msg: OpenChannel) -> None:
        d = self.data
        policy = self.policy
        if d.features.option_dual_fund:
            raise e.DualFundNegotiated("option_dual_fund negotiated: v1 open_channel refused")
        if msg.chain_hash not in policy.chain_hashes:
            raise e.UnknownChainHash(f"chain_hash {msg.chain_hash.hex()}")
        if msg.funding_satoshis >= fees.LARGE_CHANNEL_SATOSHIS and not policy.supports_large_channel:
            raise e.LargeChannelUnsupported(f"funding_satoshis {msg.funding_satoshis}")
        if msg.push_msat > msg.funding_satoshis * 1000:
            raise e.PushMsatExceedsFunding(f"push_msat {msg.push_msat} > funding {msg.funding_satoshis} sat")
        if not policy.min_feerate_per_kw <= msg.feerate_per_kw <= policy.max_feerate_per_kw:
            raise e.FeerateUnacceptable(f"feerate_per_kw {msg.feerate_per_kw}")
        if msg.funding_satoshis < policy.min_funding_satoshis:
            raise e.OpenParameterRejected(f"funding_satoshis {msg.funding_satoshis} too small")
        announce = bool(msg.channel_flags & ANNOUNCE_CHANNEL_BIT)
        channel_type = self._parse_channel_type(msg.channel_type, announce)
        self._check_common_fields(
            msg.to_self_delay,
            msg.max_accepted_htlcs,
            msg.dust_limit_satoshis,
            msg.channel_reserve_satoshis,
            msg.htlc_minimum_msat,
            msg.max_htlc_value_in_flight_msat,
            _points(msg),
            msg.funding_satoshis,
        )
        # initial commitment: the funder pays the base fee (and anchors) out of funding - push
        cost_sat = fees.funder_cost_sat(msg.feerate_per_kw, 0, channel_type.anchors)
        funder_msat = msg.funding_satoshis * 1000 - msg.push_msat
        if funder_msat < cost_sat * 1000:
            raise e.FunderCannotAffordInitialFee(
                f"funder has {funder_msat} msat, fee and anchors {cost_sat} sat"
            )
        to_funder_sat = (funder_msat - cost_sat * 1000) // 1000
        to_fundee_sat = msg.push_msat // 1000
        if max(to_funder_sat, to_fundee_sat) <= msg.channel_reserve_satoshis:
            raise e.InitialOutputsBelowReserve(
                f"to_local {to_fundee_sat} and to_remote {to_funder_sat} <= "
                f"reserve {msg.channel_reserve_satoshis}"
            )
        ours = d.local_params
        # accept_channel sender: our reserve >= their dust limit, our dust limit <= their reserve
        reserve = max(ours.channel_reserve_satoshis, msg.dust_limit_satoshis)
        if ours.dust_limit_satoshis > msg.channel_reserve_satoshis:
            raise e.OpenParameterRejected(
                f"channel_reserve_satoshis {msg.channel_reserve_satoshis} below our dust limit"
            )
        d.local_params = ChannelParams(
            ours.dust_limit_satoshis,
            ours.max_htlc_value_in_flight_msat,
            reserve,
            ours.htlc_minimum_msat,
            ours.to_self_delay,
            ours.max_accepted_htlcs,
        )
        d.chain_hash = msg.chain_hash
        d.temporary_channel_id = msg.temporary_channel_id
        d.funding_satoshis = msg.funding_satoshis
        d.push_msat = msg.push_msat
        d.initial_feerate_per_kw = msg.feerate_per_kw
        d.channel_type = channel_type
        d.channel_flags = msg.channel_flags
        d.remote_params = ChannelParams(
            msg.dust_limit_satoshis,
            msg.max_htlc_value_in_flight_msat,
            msg.channel_reserve_satoshis,
            msg.htlc_minimum_msat,
            msg.to_self_delay,
            msg.max_accepted_htlcs,
        )
        d.remote_basepoints = _basepoints(msg)
        d.remote_current_point = msg.first_per_commitment_point
        d.remote_upfront_shutdown_script = msg.upfront_shutdown_script or b""
        if channel_type.zeroconf:
            d.minimum_depth = 0
        self._transition(ChannelState.ACCEPT_CHANNEL_SENT, "open_channel accepted")
        lp = d.local_params
        bp = d.local_basepoints
        self._send(
            AcceptChannel(
                temporary_channel_id=msg.temporary_channel_id,
                dust_limit_satoshis=lp.dust_limit_satoshis,
                max_htlc_value_in_flight_msat=lp.max_htlc_value_in_flight_msat,
                channel_reserve_satoshis=lp.channel_reserve_satoshis,
                htlc_minimum_msat=lp.htlc_minimum_msat,
                minimum_depth=d.minimum_depth,
                to_self_delay=lp.to_self_delay,
                max_accepted_htlcs=lp.max_accepted_htlcs,
                funding_pubkey=bp.funding_pubkey,
                revocation_basepoint=bp.revocation_basepoint,
                payment_basepoint=bp.payment_basepoint,
                delayed_payment_basepoint=bp.delayed_payment_basepoint,
                htlc_basepoint=bp.htlc_basepoint,
                first_per_commitment_point=self.signer.per_commitment_point(0),
                upfront_shutdown_script=d.local_upfront_shutdown_script,
                channel_type=channel_type.to_bytes(),
            )
        )

    def _on_funding_created(self, msg: FundingCreated) -> None:
        d = self.data
        if msg.temporary_channel_id != d.temporary_channel_id:
            raise e.TemporaryChannelIdMismatch(f"funding_created for {msg.temporary_channel_id.hex()}")
        d.funding_txid = msg.funding_txid
        d.funding_output_index = msg.funding_output_index
        d.channel_id = derive_channel_id(msg.funding_txid, msg.funding_output_index)
        d.ledger = Ledger(
            base_local_msat=d.push_msat,
            base_remote_msat=d.funding_satoshis * 1000 - d.push_msat,
            base_feerate_per_kw=d.initial_feerate_per_kw,
        )
        self._verify_initial_commitment(msg.signature)
        self._transition(ChannelState.AWAITING_CHANNEL_READY, "funding_created verified")
        signature = self.signer.sign_commitment(self.funding_info(), self.commitment_view(Side.REMOTE, 0))
        # "if it has sent the `funding_signed` message: MUST remember the channel for reconnection"
        self._persist()
        self._send(FundingSigned(d.channel_id, signature.signature))
        self._watch_funding()

    # -- opener ----------------------------------------------------------------------------------------------

    def _on_accept_channel(self, msg: AcceptChannel) -> None:
        d = self.data
        if msg.temporary_channel_id != d.temporary_channel_id:
            raise e.TemporaryChannelIdMismatch(f"accept_channel for {msg.temporary_channel_id.hex()}")
        if msg.minimum_depth > self.policy.max_minimum_depth:
            raise e.MinimumDepthTooLarge(f"minimum_depth {msg.minimum_depth}")
        ours = d.local_params
        if msg.channel_reserve_satoshis < ours.dust_limit_satoshis:
            raise e.ReserveBelowOpenerDustLimit(
                f"channel_reserve_satoshis {msg.channel_reserve_satoshis} < "
                f"our dust limit {ours.dust_limit_satoshis}"
            )
        if ours.channel_reserve_satoshis < msg.dust_limit_satoshis:
            raise e.OpenerReserveBelowDustLimit(
                f"our channel_reserve_satoshis {ours.channel_reserve_satoshis} < "
                f"dust_limit {msg.dust_limit_satoshis}"
            )
        if msg.channel_type is None:
            raise e.ChannelTypeMissing("accept_channel without channel_type")
        if msg.channel_type != d.channel_type.to_bytes():
            raise e.ChannelTypeMismatch(
                f"channel_type {msg.channel_type.hex()} != {d.channel_type.to_bytes().hex()}"
            )
        self._check_common_fields(
            msg.to_self_delay,
            msg.max_accepted_htlcs,
            msg.dust_limit_satoshis,
            msg.channel_reserve_satoshis,
            msg.htlc_minimum_msat,
            msg.max_htlc_value_in_flight_msat,
            _points(msg),
            d.funding_satoshis,
        )
        d.remote_params = ChannelParams(
            msg.dust_limit_satoshis,
            msg.max_htlc_value_in_flight_msat,
            msg.channel_reserve_satoshis,
            msg.htlc_minimum_msat,
            msg.to_self_delay,
            msg.max_accepted_htlcs,
        )
        d.remote_basepoints = _basepoints(msg)
        d.remote_current_point = msg.first_per_commitment_point
        d.remote_upfront_shutdown_script = msg.upfront_shutdown_script or b""
        d.minimum_depth = msg.minimum_depth
        self._transition(ChannelState.AWAITING_FUNDING_TX, "accept_channel accepted")
        self._emit(
            FundingOutputNeeded(
                d.temporary_channel_id,
                d.funding_satoshis,
                self.signer.funding_scriptpubkey(
                    d.local_basepoints.funding_pubkey, d.remote_basepoints.funding_pubkey
                ),
            )
        )

    def _funding_tx_built(self, funding_txid: bytes, funding_output_index: int, funding_tx: bytes) -> None:
        d = self.data
        d.funding_txid = funding_txid
        d.funding_output_index = funding_output_index
        d.funding_tx = funding_tx
        d.channel_id = derive_channel_id(funding_txid, funding_output_index)
        d.ledger = Ledger(
            base_local_msat=d.funding_satoshis * 1000 - d.push_msat,
            base_remote_msat=d.push_msat,
            base_feerate_per_kw=d.initial_feerate_per_kw,
        )
        signature = self.signer.sign_commitment(self.funding_info(), self.commitment_view(Side.REMOTE, 0))
        self._transition(ChannelState.FUNDING_CREATED_SENT, "funding transaction built")
        self._send(
            FundingCreated(d.temporary_channel_id, funding_txid, funding_output_index, signature.signature)
        )

    def _on_funding_signed(self, msg: FundingSigned) -> None:
        d = self.data
        if msg.channel_id != d.channel_id:
            raise e.UnexpectedMessage(f"funding_signed for channel {msg.channel_id.hex()}")
        self._verify_initial_commitment(msg.signature)
        self._transition(ChannelState.AWAITING_CHANNEL_READY, "funding_signed verified")
        self._persist()
        if d.funding_tx is not None:
            self._emit(BroadcastTx(d.funding_tx, "funding transaction"))
        self._watch_funding()

    # -- both ------------------------------------------------------------------------------------------------

    def _verify_initial_commitment(self, signature: bytes) -> None:
        view = self.commitment_view(Side.LOCAL, 0)
        sigs = CommitmentSignatures(signature, ())
        try:
            self.signer.verify_commitment(self.funding_info(), view, sigs)
        except (CommitmentSignatureError, HtlcSignatureError) as exc:
            raise e.BadFundingSignature(str(exc)) from exc
        self.data.remote_commitment_signature = signature
        self.data.remote_htlc_signatures = []

    def _watch_funding(self) -> None:
        d = self.data
        assert d.funding_txid is not None and d.funding_output_index is not None
        assert d.remote_basepoints is not None
        script = self.signer.funding_scriptpubkey(
            d.local_basepoints.funding_pubkey, d.remote_basepoints.funding_pubkey
        )
        self._emit(WatchFunding(d.funding_txid, d.funding_output_index, script, d.minimum_depth))
        if d.minimum_depth == 0:
            # option_zeroconf: nothing to wait for
            self._send_channel_ready()

    def _funding_confirmed(
        self, depth: int, block_height: int, tx_index: int, output_value_sat: int, output_scriptpubkey: bytes
    ) -> None:
        d = self.data
        assert d.remote_basepoints is not None and d.funding_output_index is not None
        expected_script = self.signer.funding_scriptpubkey(
            d.local_basepoints.funding_pubkey, d.remote_basepoints.funding_pubkey
        )
        if output_value_sat != d.funding_satoshis or output_scriptpubkey != expected_script:
            # "MUST NOT send `channel_ready` unless outpoint ... pays exactly `funding_satoshis` to the
            # scriptpubkey specified in BOLT #3"
            raise e.FundingOutputMismatch(
                f"funding output pays {output_value_sat} sat to {output_scriptpubkey.hex()}, expected "
                f"{d.funding_satoshis} sat to {expected_script.hex()}"
            )
        d.funding_depth = depth
        if depth >= 1:
            short_channel_id = ShortChannelId(block_height, tx_index, d.funding_output_index).to_int()
            if short_channel_id != d.short_channel_id:
                d.short_channel_id = short_channel_id
                self._persist()
        if depth >= d.minimum_depth and not d.channel_ready_sent:
            self._send_channel_ready()

    def _send_channel_ready(self) -> None:
        d = self.data
        d.channel_ready_sent = True
        self._persist()
        self._send(self._channel_ready_message())
        self._maybe_open()

    def _channel_ready_message(self) -> ChannelReady:
        d = self.data
        assert d.channel_id is not None
        # "if `option_scid_alias` was negotiated: MUST set `short_channel_id` `alias`"; we set one for every
        # unannounced channel too, so it can be routed before (and without revealing) its real scid.
        if d.local_alias is None and (
            d.channel_type.scid_alias or not d.channel_flags & ANNOUNCE_CHANNEL_BIT
        ):
            d.local_alias = default_alias(d.channel_id)
        return ChannelReady(d.channel_id, self.signer.per_commitment_point(1), d.local_alias)

    def recognizes_short_channel_id(self, short_channel_id: int) -> bool:
        """Is an incoming HTLC addressed to this channel? "MUST always recognize the `alias`"; the real
        scid only when the channel type lacks `option_scid_alias` ("MUST NOT allow incoming HTLCs to this
        channel using the real `short_channel_id`")."""
        d = self.data
        if d.local_alias is not None and short_channel_id == d.local_alias:
            return True
        return not d.channel_type.scid_alias and short_channel_id == d.short_channel_id

    def _on_channel_ready(self, msg: ChannelReady) -> None:
        d = self.data
        if d.channel_ready_received:
            # "MUST ignore any redundant `channel_ready`" (but a new alias MAY arrive)
            if msg.alias is not None:
                d.remote_alias = msg.alias
            return
        if not is_valid_point(msg.second_per_commitment_point):
            raise e.InvalidBasepoint("second_per_commitment_point is not a valid point")
        d.remote_next_point = msg.second_per_commitment_point
        d.remote_alias = msg.alias
        d.channel_ready_received = True
        self._persist()
        self._maybe_open()

    def _maybe_open(self) -> None:
        d = self.data
        if (
            d.channel_ready_sent
            and d.channel_ready_received
            and d.state is ChannelState.AWAITING_CHANNEL_READY
        ):
            self._transition(ChannelState.NORMAL, "channel_ready sent and received")
            self._persist()
            assert d.channel_id is not None
            self._emit(ChannelOpened(d.channel_id, d.short_channel_id, d.local_alias, d.remote_alias))


def _points(msg: OpenChannel | AcceptChannel) -> dict[str, bytes]:
    return {
        "funding_pubkey": msg.funding_pubkey,
        "revocation_basepoint": msg.revocation_basepoint,
        "payment_basepoint": msg.payment_basepoint,
        "delayed_payment_basepoint": msg.delayed_payment_basepoint,
        "htlc_basepoint": msg.htlc_basepoint,
        "first_per_commitment_point": msg.first_per_commitment_point,
    }


def _basepoints(msg: OpenChannel | AcceptChannel) -> Basepoints:
    return Basepoints(
        msg.funding_pubkey,
        msg.revocation_basepoint,
        msg.payment_basepoint,
        msg.delayed_payment_basepoint,
        msg.htlc_basepoint,
    )
