"""Channel close (BOLT 2 "Channel Close"): `shutdown`, then the legacy `closing_signed` fee negotiation
(with `fee_range`) when `option_simple_close` is not negotiated."""

from __future__ import annotations

from reference_node.channel import errors as e
from reference_node.channel.actions import BroadcastTx, ChannelClosed
from reference_node.channel.messages import ClosingSigned, FeeRange, Shutdown, Warning
from reference_node.channel.params import Side
from reference_node.channel.reestablish import ReestablishMixin
from reference_node.channel.scripts import closing_weight, dust_threshold_sat, is_valid_shutdown_script
from reference_node.channel.signer import ClosingOutput, ClosingTxSpec
from reference_node.channel.states import ChannelState

LEGACY_CLOSING_SEQUENCE = 0xFFFFFFFF
SHUTDOWN_STATES = frozenset({ChannelState.AWAITING_CHANNEL_READY, ChannelState.NORMAL})


class ClosingMixin(ReestablishMixin):
    # -- shutdown --------------------------------------------------------------------------------------------

    def _shutdown(self, scriptpubkey: bytes | None, fee_satoshis: int | None) -> None:
        d = self.data
        if d.closing.shutdown_sent:
            raise e.CommandRejected("MUST NOT send multiple `shutdown` messages")
        if d.state not in SHUTDOWN_STATES and d.state is not ChannelState.SHUTTING_DOWN:
            raise e.CommandRejected(f"cannot shut down in state {d.state.value}")
        if not self._link_ready():
            raise e.CommandRejected("cannot send shutdown before channel_reestablish completed")
        script = scriptpubkey if scriptpubkey is not None else d.closing.local_scriptpubkey
        if d.local_upfront_shutdown_script and script != d.local_upfront_shutdown_script:
            raise e.CommandRejected(
                "MUST send the same value in `scriptpubkey` as the upfront_shutdown_script"
            )
        if not self._script_allowed(script):
            raise e.CommandRejected(f"scriptpubkey {script.hex()} is not an allowed shutdown form")
        if self.ledger.has_changes_for(Side.REMOTE):
            raise e.CommandRejected(
                "MUST NOT send a `shutdown` while updates are pending on the peer's commitment"
            )
        d.closing.local_scriptpubkey = script
        d.closing.target_fee_satoshis = fee_satoshis
        self._send_shutdown()
        self._check_closing_ready()

    def _script_allowed(self, script: bytes) -> bool:
        f = self.data.features
        return is_valid_shutdown_script(script, f.option_shutdown_anysegwit, f.option_simple_close)

    def _send_shutdown(self) -> None:
        d = self.data
        d.closing.shutdown_sent = True
        if d.state is not ChannelState.SHUTTING_DOWN:
            self._transition(ChannelState.SHUTTING_DOWN, "shutdown sent")
        self._persist()
        self._send(Shutdown(self.channel_id, d.closing.local_scriptpubkey))

    def _on_shutdown(self, msg: Shutdown) -> None:
        d = self.data
        if d.state not in SHUTDOWN_STATES | {ChannelState.SHUTTING_DOWN, ChannelState.NEGOTIATING_CLOSING}:
            raise e.ShutdownBeforeFunding(f"shutdown in state {d.state.value}")
        if d.closing.shutdown_received:
            if msg.scriptpubkey == d.closing.remote_scriptpubkey:
                return  # retransmitted after a reconnection
            if d.state is ChannelState.NEGOTIATING_CLOSING and d.features.option_simple_close:
                d.closing.remote_scriptpubkey = msg.scriptpubkey
                return
            raise e.UnexpectedMessage("a second shutdown with a different scriptpubkey")
        if not self._script_allowed(msg.scriptpubkey):
            raise e.ShutdownScriptInvalid(f"scriptpubkey {msg.scriptpubkey.hex()}")
        if (
            d.features.option_upfront_shutdown_script
            and d.remote_upfront_shutdown_script
            and d.remote_upfront_shutdown_script != msg.scriptpubkey
        ):
            raise e.UpfrontShutdownScriptMismatch(f"scriptpubkey {msg.scriptpubkey.hex()}")
        d.closing.shutdown_received = True
        d.closing.remote_scriptpubkey = msg.scriptpubkey
        if d.state is not ChannelState.SHUTTING_DOWN:
            self._transition(ChannelState.SHUTTING_DOWN, "shutdown received")
        self._persist()
        self._auto_commit()
        self._maybe_reply_shutdown()
        self._check_closing_ready()

    def _maybe_reply_shutdown(self) -> None:
        d = self.data
        # "once there are no outstanding updates on the peer, UNLESS it has already sent a `shutdown`:
        # MUST reply to a `shutdown` message with a `shutdown`"
        if (
            d.closing.shutdown_received
            and not d.closing.shutdown_sent
            and not self.ledger.has_changes_for(Side.REMOTE)
        ):
            self._send_shutdown()

    def _on_commitments_settled(self) -> None:
        if self.data.state is ChannelState.SHUTTING_DOWN:
            self._maybe_reply_shutdown()
            self._check_closing_ready()

    def _check_closing_ready(self) -> None:
        d = self.data
        ledger = self.ledger
        if (
            d.state is ChannelState.SHUTTING_DOWN
            and d.closing.shutdown_sent
            and d.closing.shutdown_received
            and not ledger.updates
            and not ledger.remote_pending
        ):
            self._transition(ChannelState.NEGOTIATING_CLOSING, "no HTLC left after shutdown")
            self._persist()
            self._start_negotiation()

    def _start_negotiation(self) -> None:
        if self.data.opener is Side.LOCAL:
            # "The funding node: after `shutdown` has been received, AND no HTLCs remain ... SHOULD send a
            # `closing_signed` message."
            fee, fee_range = self._initial_fee_proposal()
            self._send_closing_signed(fee, fee_range)

    def _after_reestablish(self) -> None:
        if self.data.state is ChannelState.NEGOTIATING_CLOSING:
            self._start_negotiation()
        else:
            self._auto_commit()

    # -- legacy closing_signed -------------------------------------------------------------------------------

    def final_balances_sat(self) -> tuple[int, int]:
        view = self.ledger.current_view(Side.LOCAL)
        return view.local_msat // 1000, view.remote_msat // 1000

    def legacy_closing_tx(self, fee_satoshis: int, dust_limit_satoshis: int) -> ClosingTxSpec:
        """BOLT 3 "Legacy Closing Transaction": funder pays the fee; outputs below the dust limit removed."""
        local_sat, remote_sat = self.final_balances_sat()
        if self.data.opener is Side.LOCAL:
            local_sat -= fee_satoshis
        else:
            remote_sat -= fee_satoshis
        outputs = [
            ClosingOutput(self.data.closing.local_scriptpubkey, local_sat),
            ClosingOutput(self.data.closing.remote_scriptpubkey, remote_sat),
        ]
        kept = tuple(o for o in outputs if o.amount_sat >= dust_limit_satoshis)
        return ClosingTxSpec(kept, 0, LEGACY_CLOSING_SEQUENCE)

    def _funder_balance_sat(self) -> int:
        local_sat, remote_sat = self.final_balances_sat()
        return local_sat if self.data.opener is Side.LOCAL else remote_sat

    def _initial_fee_proposal(self) -> tuple[int, FeeRange]:
        c = self.data.closing
        if c.target_fee_satoshis is not None:
            fee = c.target_fee_satoshis
        else:
            weight = closing_weight([c.local_scriptpubkey, c.remote_scriptpubkey])
            fee = self.ledger.current_view(Side.LOCAL).feerate_per_kw * weight // 1000
        funder_sat = self._funder_balance_sat()
        fee = min(fee, funder_sat)
        if self.data.opener is Side.LOCAL:
            fee_range = FeeRange(fee // 2, min(funder_sat, c.max_fee_satoshis or fee * 3))
        else:
            fee_range = FeeRange(fee // 4, funder_sat)
        return fee, fee_range

    def _send_closing_signed(self, fee: int, fee_range: FeeRange | None) -> None:
        c = self.data.closing
        spec = self.legacy_closing_tx(fee, self.data.local_params.dust_limit_satoshis)
        signature = self.signer.sign_closing(self.funding_info(), spec)
        c.last_sent_fee_satoshis = fee
        if fee_range is not None:
            c.sent_fee_range = fee_range
        self._persist()
        self._send(ClosingSigned(self.channel_id, fee, signature, fee_range))

    def _verified_closing_variant(self, msg: ClosingSigned) -> ClosingTxSpec:
        """BOLT 2: the signature must be valid "for either variant of closing transaction"."""
        funding = self.funding_info()
        candidates: list[ClosingTxSpec] = []
        for dust_limit in (
            self.data.local_params.dust_limit_satoshis,
            self.remote_params.dust_limit_satoshis,
        ):
            spec = self.legacy_closing_tx(msg.fee_satoshis, dust_limit)
            candidates.append(spec)
            # "MAY eliminate its own output"
            remote_script = self.data.closing.remote_scriptpubkey
            without_theirs = tuple(o for o in spec.outputs if o.scriptpubkey != remote_script)
            if without_theirs and without_theirs != spec.outputs:
                candidates.append(ClosingTxSpec(without_theirs, spec.locktime, spec.sequence))
        for spec in candidates:
            if self.signer.verify_closing(funding, spec, msg.signature):
                return spec
        raise e.BadClosingSignature(f"closing_signed fee {msg.fee_satoshis}: signature matches no variant")

    def _on_closing_signed(self, msg: ClosingSigned) -> None:
        d = self.data
        c = d.closing
        if d.state is ChannelState.SHUTTING_DOWN:
            self._check_closing_ready()
        if (
            d.state is ChannelState.CLOSING_BROADCAST
            and not d.features.option_simple_close
            and msg.fee_satoshis == c.last_sent_fee_satoshis
        ):
            # the peer repeats the fee we agreed on: "if `fee_satoshis` is equal to its previously sent
            # `fee_satoshis`: SHOULD sign and broadcast the final closing transaction" (again; harmless)
            spec = self._verified_closing_variant(msg)
            c.last_received_fee_satoshis = msg.fee_satoshis
            self._finish_legacy(spec, msg.signature, reply=False)
            return
        if d.state is not ChannelState.NEGOTIATING_CLOSING:
            raise e.UnexpectedMessage(f"closing_signed in state {d.state.value}")
        if msg.fee_satoshis > self._funder_balance_sat():
            raise e.ClosingFeeOutOfRange(f"fee_satoshis {msg.fee_satoshis} exceeds the funder's balance")
        spec = self._verified_closing_variant(msg)
        for output in spec.outputs:
            if output.amount_sat < dust_threshold_sat(output.scriptpubkey):
                raise e.ClosingOutputBelowDust(
                    f"closing output of {output.amount_sat} sat is below the dust limit"
                )
        previous_received = c.last_received_fee_satoshis
        c.last_received_fee_satoshis = msg.fee_satoshis
        if msg.fee_range is not None:
            c.received_fee_range = msg.fee_range
        if c.last_sent_fee_satoshis == msg.fee_satoshis:
            self._finish_legacy(spec, msg.signature, reply=False)
            return
        our_range = c.sent_fee_range or self._initial_fee_proposal()[1]
        if msg.fee_range is not None:
            low = max(our_range.min_fee_satoshis, msg.fee_range.min_fee_satoshis)
            high = min(our_range.max_fee_satoshis, msg.fee_range.max_fee_satoshis)
            if low > high:
                # "if there is no overlap ...: SHOULD send a warning"; we wait for a better range
                self._send(Warning(self.channel_id, b"closing_signed: fee_range does not overlap ours"))
                return
            if d.opener is Side.LOCAL:
                if not low <= msg.fee_satoshis <= high:
                    raise e.ClosingFeeOutOfRange(
                        f"fee_satoshis {msg.fee_satoshis} outside overlap [{low}, {high}]"
                    )
                # "MUST reply with the same `fee_satoshis`"
                self._finish_legacy(spec, msg.signature, reply=True, fee_range=our_range)
                return
            if c.last_sent_fee_satoshis is not None:
                # non-funder that already sent: the funder must have echoed our value
                raise e.ClosingFeeOutOfRange(
                    f"fee_satoshis {msg.fee_satoshis} differs from our {c.last_sent_fee_satoshis}"
                )
            if low <= msg.fee_satoshis <= high:
                self._finish_legacy(spec, msg.signature, reply=True, fee_range=our_range)
            else:
                # "MUST propose a `fee_satoshis` in the overlap between received and (about-to-be) sent"
                self._send_closing_signed(min(max(msg.fee_satoshis, low), high), our_range)
            return
        # no fee_range: the "strictly between" negotiation
        last_sent = c.last_sent_fee_satoshis
        if last_sent is not None and previous_received is not None:
            low, high = sorted((last_sent, previous_received))
            if not low < msg.fee_satoshis < high:
                raise e.ClosingFeeNotConverging(f"fee_satoshis {msg.fee_satoshis} not within ({low}, {high})")
        if our_range.min_fee_satoshis <= msg.fee_satoshis <= our_range.max_fee_satoshis or last_sent is None:
            self._finish_legacy(spec, msg.signature, reply=True)
            return
        proposal = (msg.fee_satoshis + last_sent) // 2
        if proposal in (msg.fee_satoshis, last_sent):
            self._finish_legacy(spec, msg.signature, reply=True)
            return
        self._send_closing_signed(proposal, None)

    def _finish_legacy(
        self, spec: ClosingTxSpec, remote_signature: bytes, reply: bool, fee_range: FeeRange | None = None
    ) -> None:
        d = self.data
        funding = self.funding_info()
        local_signature = self.signer.sign_closing(funding, spec)
        tx = self.signer.signed_closing(funding, spec, local_signature, remote_signature)
        fee = self.data.closing.last_received_fee_satoshis
        assert fee is not None
        if d.state is not ChannelState.CLOSING_BROADCAST:
            self._transition(ChannelState.CLOSING_BROADCAST, "closing fee agreed")
        d.closing.last_sent_fee_satoshis = fee
        self._persist()
        if reply:
            self._send(ClosingSigned(self.channel_id, fee, local_signature, fee_range))
        self._emit(BroadcastTx(tx, "mutual closing transaction"))

    # -- chain -----------------------------------------------------------------------------------------------

    def _closing_confirmed(self, closing_txid: bytes) -> None:
        if self.data.state not in (ChannelState.CLOSING_BROADCAST, ChannelState.NEGOTIATING_CLOSING):
            raise e.CommandRejected(f"no mutual close in progress (state {self.data.state.value})")
        if self.data.state is ChannelState.NEGOTIATING_CLOSING:
            self._transition(ChannelState.CLOSING_BROADCAST, "a closing transaction confirmed")
        self._transition(ChannelState.CLOSED, "closing transaction confirmed")
        self.data.closing.closing_txids.append(closing_txid)
        self._persist()
        self._emit(ChannelClosed(closing_txid))
