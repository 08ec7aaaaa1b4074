"""`option_simple_close`: `closing_complete` / `closing_sig` (BOLT 2 "Closing Negotiation"), where each side
pays for its own closing transaction and the other simply signs it."""

from __future__ import annotations

from reference_node.channel import errors as e
from reference_node.channel.actions import BroadcastTx
from reference_node.channel.closing import ClosingMixin
from reference_node.channel.data import SimpleCloseOffer
from reference_node.channel.messages import ClosingComplete, ClosingSig
from reference_node.channel.params import Side
from reference_node.channel.scripts import closing_weight, dust_threshold_sat, is_op_return
from reference_node.channel.signer import ClosingOutput, ClosingTxSpec
from reference_node.channel.states import ChannelState

SIMPLE_CLOSING_SEQUENCE = 0xFFFFFFFD
CLOSER_ONLY = "closer_output_only"
CLOSEE_ONLY = "closee_output_only"
BOTH = "closer_and_closee_outputs"


def simple_closing_tx(
    closer_script: bytes,
    closer_msat: int,
    closee_script: bytes,
    closee_msat: int,
    fee_sat: int,
    locktime: int,
    variant: str,
) -> ClosingTxSpec:
    """BOLT 3 "Closing Transaction": the closer pays `fee_satoshis`; an OP_RETURN output carries 0."""
    closer = ClosingOutput(closer_script, 0 if is_op_return(closer_script) else closer_msat // 1000 - fee_sat)
    closee = ClosingOutput(closee_script, 0 if is_op_return(closee_script) else closee_msat // 1000)
    outputs = {CLOSER_ONLY: (closer,), CLOSEE_ONLY: (closee,), BOTH: (closer, closee)}[variant]
    return ClosingTxSpec(outputs, locktime, SIMPLE_CLOSING_SEQUENCE)


def _is_dust(output: ClosingOutput) -> bool:
    return not is_op_return(output.scriptpubkey) and output.amount_sat < dust_threshold_sat(
        output.scriptpubkey
    )


class SimpleCloseMixin(ClosingMixin):
    def _start_negotiation(self) -> None:
        if not self.data.features.option_simple_close:
            super()._start_negotiation()
            return
        # "Both nodes: ... SHOULD send a `closing_complete` message."
        c = self.data.closing
        if c.target_fee_satoshis is not None:
            fee = c.target_fee_satoshis
        else:
            weight = closing_weight([c.local_scriptpubkey, c.remote_scriptpubkey])
            fee = self.ledger.current_view(Side.LOCAL).feerate_per_kw * weight // 1000
        self._send_closing_complete(fee, 0)

    def _send_closing_complete(self, fee_satoshis: int, locktime: int) -> None:
        d = self.data
        c = d.closing
        if c.simple_offer is not None:
            raise e.CommandRejected("MUST wait until it has received `closing_sig` first")
        view = self.ledger.current_view(Side.LOCAL)
        local_msat, remote_msat = view.local_msat, view.remote_msat
        fee = min(fee_satoshis, local_msat // 1000)
        closer_script, closee_script = c.local_scriptpubkey, c.remote_scriptpubkey

        def spec(variant: str) -> ClosingTxSpec:
            return simple_closing_tx(
                closer_script, local_msat, closee_script, remote_msat, fee, locktime, variant
            )

        closer_output, closee_output = spec(BOTH).outputs
        if _is_dust(closer_output) and _is_dust(closee_output):
            raise e.CommandRejected("MUST set `fee_satoshis` so that at least one output is not dust")
        variants: list[str]
        if local_msat < remote_msat:
            # the lesser-paid side may drop its own output (and must, if it is dust)
            variants = [CLOSEE_ONLY] if _is_dust(closer_output) else [BOTH]
        elif _is_dust(closee_output):
            variants = [CLOSER_ONLY]
        else:
            variants = [CLOSER_ONLY, BOTH]
        funding = self.funding_info()
        sigs = {variant: self.signer.sign_closing(funding, spec(variant)) for variant in variants}
        c.simple_offer = SimpleCloseOffer(
            closer_script,
            closee_script,
            fee,
            locktime,
            CLOSER_ONLY in sigs,
            CLOSEE_ONLY in sigs,
            BOTH in sigs,
        )
        self._persist()
        self._send(
            ClosingComplete(
                self.channel_id,
                closer_script,
                closee_script,
                fee,
                locktime,
                sigs.get(CLOSER_ONLY),
                sigs.get(CLOSEE_ONLY),
                sigs.get(BOTH),
            )
        )

    def _require_simple_close(self, name: str) -> None:
        if not self.data.features.option_simple_close:
            raise e.UnexpectedMessage(f"{name} without option_simple_close")
        if self.data.state is ChannelState.SHUTTING_DOWN:
            self._check_closing_ready()
        if self.data.state not in (ChannelState.NEGOTIATING_CLOSING, ChannelState.CLOSING_BROADCAST):
            raise e.UnexpectedMessage(f"{name} in state {self.data.state.value}")

    def _on_closing_complete(self, msg: ClosingComplete) -> None:
        self._require_simple_close(msg.NAME)
        c = self.data.closing
        view = self.ledger.current_view(Side.LOCAL)
        closer_msat, closee_msat = view.remote_msat, view.local_msat
        if msg.fee_satoshis > closer_msat // 1000:
            raise e.ClosingFeeTooHigh(
                f"fee_satoshis {msg.fee_satoshis} > closer balance {closer_msat // 1000} sat"
            )
        if msg.closee_scriptpubkey != c.local_scriptpubkey:
            raise e.ClosingScriptMismatch(f"closee_scriptpubkey {msg.closee_scriptpubkey.hex()}")
        if not self._script_allowed(msg.closer_scriptpubkey):
            raise e.ShutdownScriptInvalid(f"closer_scriptpubkey {msg.closer_scriptpubkey.hex()}")

        def spec(variant: str) -> ClosingTxSpec:
            return simple_closing_tx(
                msg.closer_scriptpubkey,
                closer_msat,
                msg.closee_scriptpubkey,
                closee_msat,
                msg.fee_satoshis,
                msg.locktime,
                variant,
            )

        # "Select a signature for validation"
        local_output = spec(BOTH).outputs[1]
        if _is_dust(local_output):
            variant, signature = CLOSER_ONLY, msg.closer_output_only
        elif msg.closer_and_closee_outputs is not None:
            variant, signature = BOTH, msg.closer_and_closee_outputs
        else:
            variant, signature = CLOSEE_ONLY, msg.closee_output_only
        if signature is None:
            raise e.ClosingSignatureFieldMissing(f"closing_complete lacks {variant}")
        funding = self.funding_info()
        tx_spec = spec(variant)
        if not self.signer.verify_closing(funding, tx_spec, signature):
            raise e.BadClosingSignature(f"closing_complete {variant} signature invalid")
        local_signature = self.signer.sign_closing(funding, tx_spec)
        tx = self.signer.signed_closing(funding, tx_spec, local_signature, signature)
        # "MUST use `closer_scriptpubkey` for its own future `closing_complete` messages"
        c.remote_scriptpubkey = msg.closer_scriptpubkey
        if self.data.state is ChannelState.NEGOTIATING_CLOSING:
            self._transition(ChannelState.CLOSING_BROADCAST, "signed the peer's closing transaction")
        self._persist()
        self._send(
            ClosingSig(
                self.channel_id,
                msg.closer_scriptpubkey,
                msg.closee_scriptpubkey,
                msg.fee_satoshis,
                msg.locktime,
                local_signature if variant == CLOSER_ONLY else None,
                local_signature if variant == CLOSEE_ONLY else None,
                local_signature if variant == BOTH else None,
            )
        )
        self._emit(BroadcastTx(tx, "mutual closing transaction (peer pays)"))

    def _on_closing_sig(self, msg: ClosingSig) -> None:
        self._require_simple_close(msg.NAME)
        c = self.data.closing
        offer = c.simple_offer
        if offer is None:
            raise e.UnexpectedMessage("closing_sig without a pending closing_complete")
        if (msg.closer_scriptpubkey, msg.closee_scriptpubkey, msg.fee_satoshis, msg.locktime) != (
            offer.closer_scriptpubkey,
            offer.closee_scriptpubkey,
            offer.fee_satoshis,
            offer.locktime,
        ):
            raise e.ClosingSigMismatch("closing_sig fields differ from our closing_complete")
        present = {
            CLOSER_ONLY: msg.closer_output_only,
            CLOSEE_ONLY: msg.closee_output_only,
            BOTH: msg.closer_and_closee_outputs,
        }
        given = [(variant, sig) for variant, sig in present.items() if sig is not None]
        sent = {
            CLOSER_ONLY: offer.closer_output_only,
            CLOSEE_ONLY: offer.closee_output_only,
            BOTH: offer.closer_and_closee_outputs,
        }
        if len(given) != 1 or not sent[given[0][0]]:
            raise e.ClosingSigMismatch("closing_sig must carry exactly one signature we asked for")
        variant, signature = given[0]
        view = self.ledger.current_view(Side.LOCAL)
        tx_spec = simple_closing_tx(
            offer.closer_scriptpubkey,
            view.local_msat,
            offer.closee_scriptpubkey,
            view.remote_msat,
            offer.fee_satoshis,
            offer.locktime,
            variant,
        )
        funding = self.funding_info()
        if not self.signer.verify_closing(funding, tx_spec, signature):
            raise e.BadClosingSignature(f"closing_sig {variant} signature invalid")
        local_signature = self.signer.sign_closing(funding, tx_spec)
        tx = self.signer.signed_closing(funding, tx_spec, local_signature, signature)
        c.simple_offer = None
        if self.data.state is ChannelState.NEGOTIATING_CLOSING:
            self._transition(ChannelState.CLOSING_BROADCAST, "our closing transaction is signed")
        self._persist()
        self._emit(BroadcastTx(tx, "mutual closing transaction (we pay)"))
