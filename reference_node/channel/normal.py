"""Normal operation (BOLT 2 "Normal Operation"): HTLC updates, update_fee, commitment_signed and
revoke_and_ack."""

from __future__ import annotations

import hashlib

from coincurve import PrivateKey

from reference_node.channel import errors as e
from reference_node.channel import fees
from reference_node.channel.actions import Action, HtlcFailed, HtlcFulfilled, HtlcReceived, HtlcResolved
from reference_node.channel.establish import EstablishMixin
from reference_node.channel.ledger import LedgerView, LoggedUpdate, UpdateKind
from reference_node.channel.messages import (
    CommitmentSigned,
    RevokeAndAck,
    UpdateAddHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    UpdateFulfillHtlc,
    UpdateMessage,
)
from reference_node.channel.params import Side
from reference_node.channel.revocation import insert_remote_secret
from reference_node.channel.signer import (
    CommitmentSignatureError,
    CommitmentSignatures,
    HtlcSignatureError,
)
from reference_node.channel.states import ChannelState
from reference_node.keys.shachain import ShachainError

# BOLT 4: failure_code flag "BADONION"
BADONION = 0x8000

UPDATE_STATES = frozenset({ChannelState.NORMAL, ChannelState.SHUTTING_DOWN})


class NormalMixin(EstablishMixin):
    # -- limits ----------------------------------------------------------------------------------------------

    def _check_add_limits(self, view: LedgerView, sender: Side) -> None:
        """The checks of an HTLC just added by `sender`, on the receiver's commitment `view`.
        Raises the receiver's PeerViolation classes; the sending side maps them to CommandRejected."""
        receiver = sender.other
        receiver_params = self.params_of(receiver)
        offered = [h for h in view.htlcs if h.offerer is sender]
        if len(offered) > receiver_params.max_accepted_htlcs:
            raise e.TooManyHtlcs(
                f"{len(offered)} HTLCs > max_accepted_htlcs {receiver_params.max_accepted_htlcs}"
            )
        in_flight = sum(h.amount_msat for h in offered)
        if in_flight > receiver_params.max_htlc_value_in_flight_msat:
            raise e.HtlcValueInFlightExceeded(
                f"{in_flight} msat offered > max_htlc_value_in_flight_msat "
                f"{receiver_params.max_htlc_value_in_flight_msat}"
            )
        if sender is Side.REMOTE and not self.policy.enforce_receiver_reserve:
            # receiver rule switched off ("cannot afford at the current `feerate_per_kw` (while
            # maintaining its channel reserve ...)"): only an HTLC beyond the sender's whole balance is
            # refused, which no commitment could hold (BOLT 3 "Fee Payment" takes the fee from what
            # the funder has left, so a commitment short of its fee can still be built)
            if view.balance_msat(sender) < 0:
                raise e.HtlcSenderCannotAfford(f"sender balance {view.balance_msat(sender)} msat < 0")
            return
        balance = self.balance_after_fees_msat(receiver, view, sender)
        floor = self._reserve_floor_msat(sender)
        if balance < floor:
            kept = "its channel reserve" if floor else "nothing: it cannot pay the commitment fee"
            raise e.HtlcSenderCannotAfford(f"sender balance after fees {balance} msat < {floor} msat, {kept}")

    def _reserve_floor_msat(self, sender: Side) -> int:
        """What `sender` must keep after fees once it offered an HTLC: its channel reserve; for our own
        HTLCs with `enforce_sender_reserve` off, only the fees (the commitment keeps its fee)."""
        if sender is Side.LOCAL and not self.policy.enforce_sender_reserve:
            return 0
        return self.reserve_msat_of(sender)

    def _dust_exposure_exceeded(self, views: list[tuple[Side, LedgerView]]) -> bool:
        limit = self.policy.max_dust_htlc_exposure_msat
        return any(self.figures(holder, view).dust_exposure_msat > limit for holder, view in views)

    def _with(self, update: LoggedUpdate, view_of: Side) -> LedgerView:
        """`view_of`'s next commitment with `update` appended (not logged)."""
        ledger = self.ledger
        ledger.updates.append(update)
        try:
            if view_of is Side.LOCAL and update.proposer is Side.LOCAL:
                return ledger.all_view()
            return ledger.next_view(view_of)
        finally:
            ledger.updates.pop()

    def _require_update_state(self, what: str) -> None:
        if self.data.state not in UPDATE_STATES:
            raise e.CommandRejected(f"cannot {what} in state {self.data.state.value}")
        if not self._link_ready():
            raise e.CommandRejected(f"cannot {what} before channel_reestablish completed")

    def _link_ready(self) -> bool:
        return self.data.connected and (self.data.reestablish_received or not self.data.reestablish_sent)

    # -- commands: our updates -------------------------------------------------------------------------------

    def _add_htlc(
        self,
        amount_msat: int,
        payment_hash: bytes,
        cltv_expiry: int,
        onion_routing_packet: bytes,
        path_key: bytes | None,
    ) -> int:
        d = self.data
        if d.state is not ChannelState.NORMAL or d.closing.shutdown_sent or d.closing.shutdown_received:
            # "MUST NOT send an `update_add_htlc` after a `shutdown`"
            raise e.CommandRejected(f"cannot add an HTLC in state {d.state.value} or after shutdown")
        self._require_update_state("add an HTLC")
        update = LoggedUpdate(
            proposer=Side.LOCAL,
            kind=UpdateKind.ADD,
            htlc_id=self.ledger.next_local_htlc_id,
            amount_msat=amount_msat,
            payment_hash=payment_hash,
            cltv_expiry=cltv_expiry,
            onion_routing_packet=onion_routing_packet,
            path_key=path_key,
        )
        if self.policy.enforce_sender_limits:
            self._check_sender_limits(update)
        self.ledger.append(update)
        # our own update is remembered before it leaves (its HTLC id, preimage or feerate)
        self._persist()
        self._send(
            UpdateAddHtlc(
                self.channel_id,
                update.htlc_id,
                amount_msat,
                payment_hash,
                cltv_expiry,
                onion_routing_packet,
                path_key,
            )
        )
        return update.htlc_id

    def _check_sender_limits(self, update: LoggedUpdate) -> None:
        """BOLT 2 update_add_htlc, "A sending node": every limit the peer imposed on us."""
        amount_msat, cltv_expiry = update.amount_msat, update.cltv_expiry
        remote = self.remote_params
        if amount_msat <= 0:
            raise e.CommandRejected("MUST offer `amount_msat` greater than 0")
        if amount_msat < remote.htlc_minimum_msat:
            raise e.CommandRejected(f"amount_msat {amount_msat} below peer's htlc_minimum_msat")
        if cltv_expiry >= fees.CLTV_EXPIRY_LIMIT:
            raise e.CommandRejected("MUST set `cltv_expiry` less than 500000000")
        remote_view = self._with(update, Side.REMOTE)
        local_view = self._with(update, Side.LOCAL)
        try:
            self._check_add_limits(remote_view, Side.LOCAL)
            self._check_add_limits(local_view, Side.LOCAL)
        except e.PeerViolation as exc:
            raise e.CommandRejected(f"the peer would refuse this HTLC: {exc.detail}") from exc
        self._check_fee_margins(remote_view, local_view)
        if self._dust_exposure_exceeded([(Side.REMOTE, remote_view), (Side.LOCAL, local_view)]):
            raise e.CommandRejected("HTLC would exceed max_dust_htlc_exposure_msat")

    def _check_fee_margins(self, remote_view: LedgerView, local_view: LedgerView) -> None:
        opener = self.data.opener
        enforced = self.policy.enforce_sender_reserve
        floor = self.reserve_msat_of(opener) if enforced else 0
        for holder, view in ((Side.REMOTE, remote_view), (Side.LOCAL, local_view)):
            funder_balance = self.balance_after_fees_msat(holder, view, opener)
            if funder_balance < floor:
                # both for the funder (MUST NOT) and the non-funder (SHOULD NOT)
                raise e.CommandRejected(
                    "the funder could not pay the commitment fee while keeping its reserve"
                )
            # the fee spike buffer is room kept above the reserve: it goes with the reserve check
            if opener is Side.LOCAL and enforced:
                # fee spike buffer: room for one more non-dust HTLC at `fee_spike_multiple` x the feerate
                feerate = view.feerate_per_kw * self.policy.fee_spike_multiple
                figures = self.figures(holder, view, feerate)
                cost = fees.funder_cost_sat(
                    feerate, figures.untrimmed_htlcs + 1, self.data.channel_type.anchors
                )
                if view.balance_msat(opener) - cost * 1000 < self.reserve_msat_of(opener):
                    raise e.CommandRejected("HTLC would eat into the fee spike buffer")

    def _remove_htlc(self, kind: UpdateKind, htlc_id: int, **fields: object) -> LoggedUpdate:
        self._require_update_state("remove an HTLC")
        ledger = self.ledger
        add = ledger.find_add(Side.REMOTE, htlc_id)
        if add is None or ledger.find_removal(Side.REMOTE, htlc_id) is not None:
            raise e.CommandRejected(f"no removable incoming HTLC {htlc_id}")
        if not ledger.settled(add):
            # "until the corresponding HTLC is irrevocably committed in both sides' commitment transactions:
            # MUST NOT send an `update_fulfill_htlc`, `update_fail_htlc`, or `update_fail_malformed_htlc`"
            raise e.CommandRejected(f"HTLC {htlc_id} is not irrevocably committed yet")
        update = LoggedUpdate(proposer=Side.LOCAL, kind=kind, htlc_id=htlc_id)
        for name, value in fields.items():
            setattr(update, name, value)
        ledger.append(update)
        return update

    def _fulfill_htlc(self, htlc_id: int, payment_preimage: bytes) -> None:
        add = self.ledger.find_add(Side.REMOTE, htlc_id)
        if add is not None and hashlib.sha256(payment_preimage).digest() != add.payment_hash:
            raise e.CommandRejected(f"preimage does not match HTLC {htlc_id}")
        self._remove_htlc(UpdateKind.FULFILL, htlc_id, payment_preimage=payment_preimage)
        # our own update is remembered before it leaves (its HTLC id, preimage or feerate)
        self._persist()
        self._send(UpdateFulfillHtlc(self.channel_id, htlc_id, payment_preimage))

    def _fail_htlc(self, htlc_id: int, reason: bytes) -> None:
        self._remove_htlc(UpdateKind.FAIL, htlc_id, reason=reason)
        # our own update is remembered before it leaves (its HTLC id, preimage or feerate)
        self._persist()
        self._send(UpdateFailHtlc(self.channel_id, htlc_id, reason))

    def _fail_malformed_htlc(self, htlc_id: int, sha256_of_onion: bytes, failure_code: int) -> None:
        if not failure_code & BADONION:
            raise e.CommandRejected("update_fail_malformed_htlc needs the BADONION bit in failure_code")
        self._remove_htlc(
            UpdateKind.FAIL_MALFORMED, htlc_id, sha256_of_onion=sha256_of_onion, failure_code=failure_code
        )
        # our own update is remembered before it leaves (its HTLC id, preimage or feerate)
        self._persist()
        self._send(UpdateFailMalformedHtlc(self.channel_id, htlc_id, sha256_of_onion, failure_code))

    def _update_fee(self, feerate_per_kw: int) -> None:
        self._require_update_state("send update_fee")
        if self.data.opener is not Side.LOCAL:
            raise e.CommandRejected(
                "The node _not responsible_ for paying the Bitcoin fee: MUST NOT send `update_fee`"
            )
        if self.data.state is ChannelState.SHUTTING_DOWN and not self.ledger.updates:
            raise e.CommandRejected("no update may follow a shutdown once no HTLCs remain")
        update = LoggedUpdate(proposer=Side.LOCAL, kind=UpdateKind.FEE, feerate_per_kw=feerate_per_kw)
        views = [(holder, self._with(update, holder)) for holder in (Side.REMOTE, Side.LOCAL)]
        for holder, view in views:
            if self.balance_after_fees_msat(holder, view, Side.LOCAL) < 0:
                raise e.CommandRejected(f"cannot afford feerate_per_kw {feerate_per_kw}")
        current = self.ledger.all_view().feerate_per_kw
        if (
            not self.data.channel_type.anchors
            and feerate_per_kw > current
            and self._dust_exposure_exceeded(views)
        ):
            # "if the dust balance of the remote (local) transaction at the updated `feerate_per_kw` is
            # greater than `max_dust_htlc_exposure_msat`: MAY NOT send `update_fee`"
            raise e.CommandRejected(
                f"feerate_per_kw {feerate_per_kw} would exceed max_dust_htlc_exposure_msat"
            )
        self.ledger.append(update)
        # our own update is remembered before it leaves (its HTLC id, preimage or feerate)
        self._persist()
        self._send(UpdateFee(self.channel_id, feerate_per_kw))

    def _commit(self) -> None:
        ledger = self.ledger
        if self.data.state not in UPDATE_STATES:
            raise e.CommandRejected(f"cannot sign a commitment in state {self.data.state.value}")
        if not self._link_ready():
            raise e.CommandRejected("cannot sign before channel_reestablish completed")
        if ledger.remote_pending:
            raise e.CommandRejected("waiting for revoke_and_ack of the previous commitment_signed")
        if not ledger.has_changes_for(Side.REMOTE):
            raise e.CommandRejected(
                "MUST NOT send a `commitment_signed` message that does not include any updates"
            )
        ctn = ledger.remote_ctn + 1
        ledger.assign(Side.REMOTE, ctn)
        ledger.remote_pending = True
        self.data.commitment_signed_after_revoke = True
        message = self._commitment_signed_message(ctn)
        self._persist()
        self._send(message)
        # a `shutdown` reply may have been waiting for these updates to be signed
        self._on_commitments_settled()

    def _commitment_signed_message(self, ctn: int) -> CommitmentSigned:
        sigs = self.signer.sign_commitment(self.funding_info(), self.commitment_view(Side.REMOTE, ctn))
        return CommitmentSigned(self.channel_id, sigs.signature, sigs.htlc_signatures)

    def _auto_commit(self) -> None:
        ledger = self.ledger
        if (
            self.policy.auto_commit
            and self.data.state in UPDATE_STATES
            and self._link_ready()
            and not ledger.remote_pending
            and ledger.has_changes_for(Side.REMOTE)
        ):
            self._commit()

    # -- peer's updates --------------------------------------------------------------------------------------

    def _require_peer_update_state(self, msg: UpdateMessage) -> None:
        if self.data.state not in UPDATE_STATES:
            raise e.UnexpectedMessage(f"{msg.NAME} in state {self.data.state.value}")

    def _on_update_add_htlc(self, msg: UpdateAddHtlc) -> None:
        d = self.data
        if d.closing.shutdown_received:
            raise e.UpdateAfterShutdown(f"update_add_htlc {msg.id} after the peer's shutdown")
        self._require_peer_update_state(msg)
        ledger = self.ledger
        if msg.id != ledger.next_remote_htlc_id:
            existing = ledger.find_add(Side.REMOTE, msg.id)
            if (
                existing is not None
                and existing.payment_hash == msg.payment_hash
                and existing.amount_msat == (msg.amount_msat)
            ):
                # "MUST ignore a repeated `id` value after a reconnection"
                return
            raise e.HtlcIdViolation(f"id {msg.id}, expected {ledger.next_remote_htlc_id}")
        if msg.amount_msat == 0 or msg.amount_msat < d.local_params.htlc_minimum_msat:
            raise e.HtlcAmountBelowMinimum(
                f"amount_msat {msg.amount_msat} < htlc_minimum_msat {d.local_params.htlc_minimum_msat}"
            )
        if msg.cltv_expiry >= fees.CLTV_EXPIRY_LIMIT:
            raise e.CltvExpiryTooLarge(f"cltv_expiry {msg.cltv_expiry}")
        update = LoggedUpdate(
            proposer=Side.REMOTE,
            kind=UpdateKind.ADD,
            htlc_id=msg.id,
            amount_msat=msg.amount_msat,
            payment_hash=msg.payment_hash,
            cltv_expiry=msg.cltv_expiry,
            onion_routing_packet=msg.onion_routing_packet,
            path_key=msg.path_key,
        )
        self._check_add_limits(self._with(update, Side.LOCAL), Side.REMOTE)
        ledger.append(update)

    def _find_our_htlc(
        self, msg: UpdateFulfillHtlc | UpdateFailHtlc | UpdateFailMalformedHtlc
    ) -> LoggedUpdate:
        self._require_peer_update_state(msg)
        ledger = self.ledger
        add = ledger.find_add(Side.LOCAL, msg.id)
        # "if the `id` does not correspond to an HTLC in its current commitment transaction"
        if add is None or add.local_ctn is None or ledger.find_removal(Side.LOCAL, msg.id) is not None:
            raise e.UnknownHtlcId(f"{msg.NAME} for id {msg.id}")
        return add

    def _on_update_fulfill_htlc(self, msg: UpdateFulfillHtlc) -> None:
        add = self._find_our_htlc(msg)
        if hashlib.sha256(msg.payment_preimage).digest() != add.payment_hash:
            raise e.PreimageMismatch(f"preimage for HTLC {msg.id} does not hash to its payment_hash")
        self.ledger.append(
            LoggedUpdate(
                proposer=Side.REMOTE,
                kind=UpdateKind.FULFILL,
                htlc_id=msg.id,
                payment_preimage=msg.payment_preimage,
            )
        )
        self._emit(HtlcFulfilled(msg.id, add.payment_hash, msg.payment_preimage))

    def _on_update_fail_htlc(self, msg: UpdateFailHtlc) -> None:
        self._find_our_htlc(msg)
        self.ledger.append(
            LoggedUpdate(proposer=Side.REMOTE, kind=UpdateKind.FAIL, htlc_id=msg.id, reason=msg.reason)
        )

    def _on_update_fail_malformed_htlc(self, msg: UpdateFailMalformedHtlc) -> None:
        self._find_our_htlc(msg)
        if not msg.failure_code & BADONION:
            raise e.MalformedWithoutBadonion(f"failure_code {msg.failure_code:#06x}")
        self.ledger.append(
            LoggedUpdate(
                proposer=Side.REMOTE,
                kind=UpdateKind.FAIL_MALFORMED,
                htlc_id=msg.id,
                sha256_of_onion=msg.sha256_of_onion,
                failure_code=msg.failure_code,
            )
        )

    def _on_update_fee(self, msg: UpdateFee) -> None:
        self._require_peer_update_state(msg)
        if self.data.opener is not Side.REMOTE:
            raise e.UpdateFeeFromNonFunder("update_fee from the non-funder")
        if not self.policy.min_feerate_per_kw <= msg.feerate_per_kw <= self.policy.max_feerate_per_kw:
            raise e.UpdateFeeFeerateUnacceptable(f"feerate_per_kw {msg.feerate_per_kw}")
        update = LoggedUpdate(proposer=Side.REMOTE, kind=UpdateKind.FEE, feerate_per_kw=msg.feerate_per_kw)
        view = self._with(update, Side.LOCAL)
        if self.balance_after_fees_msat(Side.LOCAL, view, Side.REMOTE) < 0:
            raise e.UpdateFeeUnaffordable(f"funder cannot pay feerate_per_kw {msg.feerate_per_kw}")
        self.ledger.append(update)

    # -- commitment_signed / revoke_and_ack ------------------------------------------------------------------

    def _on_commitment_signed(self, msg: CommitmentSigned) -> None:
        if self.data.state not in UPDATE_STATES and self.data.state is not ChannelState.NEGOTIATING_CLOSING:
            raise e.UnexpectedMessage(f"commitment_signed in state {self.data.state.value}")
        ledger = self.ledger
        ctn = ledger.local_ctn + 1
        next_view = ledger.next_view(Side.LOCAL)
        view = self.to_commitment_view(Side.LOCAL, ctn, next_view)
        untrimmed = self.figures(Side.LOCAL, next_view).untrimmed_htlcs
        if len(msg.htlc_signature) != untrimmed:
            raise e.HtlcSignatureCountMismatch(f"num_htlcs {len(msg.htlc_signature)}, expected {untrimmed}")
        sigs = CommitmentSignatures(msg.signature, msg.htlc_signature)
        try:
            self.signer.verify_commitment(self.funding_info(), view, sigs)
        except CommitmentSignatureError as exc:
            raise e.BadCommitmentSignature(f"commitment {ctn}: {exc}") from exc
        except HtlcSignatureError as exc:
            raise e.BadHtlcSignature(f"commitment {ctn}: {exc}") from exc
        ledger.assign(Side.LOCAL, ctn)
        ledger.local_ctn = ctn
        self.data.remote_commitment_signature = msg.signature
        self.data.remote_htlc_signatures = list(msg.htlc_signature)
        self.data.commitment_signed_after_revoke = False
        events = self._settle()
        self._persist()
        self._send(self._revoke_and_ack_message())
        self._after_commitment_change(events)

    def _revoke_and_ack_message(self) -> RevokeAndAck:
        ctn = self.ledger.local_ctn
        return RevokeAndAck(
            self.channel_id,
            self.signer.per_commitment_secret(ctn - 1),
            self.signer.per_commitment_point(ctn + 1),
        )

    def _on_revoke_and_ack(self, msg: RevokeAndAck) -> None:
        ledger = self.ledger
        d = self.data
        if not ledger.remote_pending:
            raise e.UnexpectedMessage("revoke_and_ack without an outstanding commitment_signed")
        try:
            point = PrivateKey(msg.per_commitment_secret).public_key.format(compressed=True)
        except ValueError as exc:
            raise e.InvalidRevocationSecret("per_commitment_secret is not a valid secret key") from exc
        if point != d.remote_current_point:
            raise e.InvalidRevocationSecret(
                f"per_commitment_secret does not generate the point of commitment {ledger.remote_ctn}"
            )
        try:
            insert_remote_secret(d, ledger.remote_ctn, msg.per_commitment_secret)
        except ShachainError as exc:
            raise e.RevocationSecretNotShachain(str(exc)) from exc
        ledger.remote_ctn += 1
        ledger.remote_pending = False
        d.remote_current_point = d.remote_next_point
        d.remote_next_point = msg.next_per_commitment_point
        events = self._settle()
        self._persist()
        self._after_commitment_change(events)

    def _settle(self) -> list[Action]:
        """After a commitment change: mark what became irrevocable and fold what is settled, BEFORE the state
        is persisted (so a restored channel is as compact as the live one); returns the events to report."""
        ledger = self.ledger
        events: list[Action] = []
        for update in ledger.updates:
            if (
                update.kind is UpdateKind.ADD
                and update.proposer is Side.REMOTE
                and not update.reported
                and ledger.settled(update)
            ):
                update.reported = True
                events.append(
                    HtlcReceived(
                        update.htlc_id,
                        update.amount_msat,
                        update.payment_hash,
                        update.cltv_expiry,
                        update.onion_routing_packet,
                        update.path_key,
                        self._incoming_dust_exposure_exceeded(update),
                    )
                )
        for removal_update, add in ledger.compact():
            if add.proposer is Side.LOCAL and removal_update.kind is not UpdateKind.FULFILL:
                events.append(
                    HtlcFailed(
                        add.htlc_id,
                        add.payment_hash,
                        removal_update.reason,
                        removal_update.failure_code,
                        removal_update.sha256_of_onion,
                    )
                )
            events.append(
                HtlcResolved(
                    add.htlc_id, add.proposer is Side.LOCAL, removal_update.kind is UpdateKind.FULFILL
                )
            )
        return events

    def _after_commitment_change(self, events: list[Action]) -> None:
        """Report the events, then move the channel on (shutdown progress, pending signatures)."""
        for event in events:
            self._emit(event)
        self._on_commitments_settled()
        self._auto_commit()

    def _incoming_dust_exposure_exceeded(self, update: LoggedUpdate) -> bool:
        """BOLT 2 `max_dust_htlc_exposure_msat`, receiving side: a trimmed HTLC that pushes the dust
        balance of a commitment over the limit SHOULD be failed once committed."""
        limit = self.policy.max_dust_htlc_exposure_msat
        for holder in (Side.LOCAL, Side.REMOTE):
            view = self.ledger.current_view(holder)
            trimmed = fees.is_trimmed(
                update.amount_msat,
                holder is Side.REMOTE,
                self.params_of(holder).dust_limit_satoshis,
                view.feerate_per_kw,
                self.data.channel_type.anchors,
            )
            if trimmed and self.figures(holder, view).dust_exposure_msat > limit:
                return True
        return False

    def _on_commitments_settled(self) -> None:
        """Hook for the closing flow (shutdown completes once no HTLC remains)."""
