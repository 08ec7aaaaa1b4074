"""Exceptions of the channel state machine.

Two families:
- `PeerViolation`: the peer sent something a BOLT 2 receiver requirement forbids. Each subclass names the
  requirement it enforces (`REQUIREMENT`, quoted from 02-peer-protocol.md) and the reaction the spec asks for
  (`REACTION`). The machine turns one into a `ChannelFailed` action (and an `error` message) or a `warning`.
- `CommandRejected`: our own caller asked for something the spec forbids the sender to do (offer an HTLC the
  peer cannot accept, send `update_fee` as non-opener, ...). Nothing is sent and the channel is unchanged.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class Reaction(Enum):
    # "send an `error` and fail the channel"
    FAIL_CHANNEL = "fail_channel"
    # "send a `warning` and close the connection" (the channel itself survives)
    WARN_AND_DISCONNECT = "warn_and_disconnect"
    # "SHOULD send an `error` to request the peer to fail the channel" without us broadcasting anything
    # (option_data_loss_protect: we are the one who lost data)
    ERROR_WITHOUT_BROADCAST = "error_without_broadcast"


class ChannelError(Exception):
    """Base of every channel-layer exception."""


class PeerViolation(ChannelError):
    # the spec's words, and the ids of the requirements in suites/requirements/bolt02.yaml they enforce
    REQUIREMENT: ClassVar[str] = ""
    REQUIREMENT_IDS: ClassVar[tuple[str, ...]] = ()
    REACTION: ClassVar[Reaction] = Reaction.FAIL_CHANNEL

    def __init__(self, detail: str) -> None:
        super().__init__(f"{detail} [BOLT 2: {self.REQUIREMENT}]")
        self.detail = detail


# --- open_channel / accept_channel receiver requirements (BOLT 2 "The `open_channel` Message") ---------


class UnknownChainHash(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-06",)
    REQUIREMENT = "the `chain_hash` value is set to a hash of a chain that is unknown to the receiver"


class PushMsatExceedsFunding(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-07",)
    REQUIREMENT = "`push_msat` is greater than `funding_satoshis` * 1000"


class ToSelfDelayTooLarge(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-08",)
    REQUIREMENT = "`to_self_delay` is unreasonably large"


class MaxAcceptedHtlcsTooLarge(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-09",)
    REQUIREMENT = "`max_accepted_htlcs` is greater than 483"


class FeerateUnacceptable(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-10",)
    REQUIREMENT = "it considers `feerate_per_kw` too small for timely processing or unreasonably large"


class InvalidBasepoint(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-11",)
    REQUIREMENT = (
        "`funding_pubkey`, `revocation_basepoint`, `htlc_basepoint`, `payment_basepoint`, or "
        "`delayed_payment_basepoint` are not valid secp256k1 pubkeys in compressed format"
    )


class DustLimitAboveReserve(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-12",)
    REQUIREMENT = "`dust_limit_satoshis` is greater than `channel_reserve_satoshis`"


class DustLimitTooSmall(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-13",)
    REQUIREMENT = "`dust_limit_satoshis` is smaller than `354 satoshis`"


class FunderCannotAffordInitialFee(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-14",)
    REQUIREMENT = (
        "the funder's amount for the initial commitment transaction is not sufficient for full fee payment"
    )


class InitialOutputsBelowReserve(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-15",)
    REQUIREMENT = (
        "both `to_local` and `to_remote` amounts for the initial commitment transaction are less than or "
        "equal to `channel_reserve_satoshis`"
    )


class LargeChannelUnsupported(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-16",)
    REQUIREMENT = (
        "`funding_satoshis` is greater than or equal to 2^24 and the receiver does not support "
        "`option_support_large_channel`"
    )


class ChannelTypeMissing(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-02", "bolt02-accept_channel-receiver-must-03")
    REQUIREMENT = "if the message doesn't include a `channel_type`: fail the channel"


class ChannelTypeUnsuitable(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-17",)
    REQUIREMENT = "the `channel_type` is not suitable"


class ZeroconfNotTrusted(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-18",)
    REQUIREMENT = (
        "the `channel_type` includes `option_zeroconf` and it does not trust the sender to open an "
        "unconfirmed channel"
    )


class DualFundNegotiated(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-open_channel-receiver-must-05",)
    REQUIREMENT = "if `option_dual_fund` has been negotiated: fail the channel"


class OpenParameterRejected(PeerViolation):
    """One of the receiver's MAY-fail policy checks (funding too small, htlc_minimum_msat too large, ...)."""

    REQUIREMENT_IDS = (
        "bolt02-open_channel-receiver-may-02",
        "bolt02-open_channel-receiver-may-03",
        "bolt02-open_channel-receiver-may-04",
        "bolt02-open_channel-receiver-may-05",
        "bolt02-open_channel-receiver-may-06",
        "bolt02-open_channel-receiver-may-07",
    )
    REQUIREMENT = "The receiving node MAY fail the channel if"


class TemporaryChannelIdMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-accept_channel-node-must-01",)
    REQUIREMENT = (
        "The `temporary_channel_id` MUST be the same as the `temporary_channel_id` in the `open_channel` "
        "message"
    )


class ReserveBelowOpenerDustLimit(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-accept_channel-receiver-must-01",)
    REQUIREMENT = (
        "if `channel_reserve_satoshis` is less than `dust_limit_satoshis` within the `open_channel` message: "
        "MUST fail the channel"
    )


class OpenerReserveBelowDustLimit(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-accept_channel-receiver-must-02",)
    REQUIREMENT = (
        "if `channel_reserve_satoshis` from the `open_channel` message is less than `dust_limit_satoshis`: "
        "MUST fail the channel"
    )


class ChannelTypeMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-accept_channel-receiver-must-04",)
    REQUIREMENT = (
        "if `channel_type` does not match the `channel_type` from `open_channel`: MUST fail the channel"
    )


class MinimumDepthTooLarge(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-accept_channel-receiver-may-01",)
    REQUIREMENT = "if `minimum_depth` is unreasonably large: MAY fail the channel"


class BadFundingSignature(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-funding_created-recipient-must-01", "bolt02-funding_signed-recipient-must-01")
    REQUIREMENT = (
        "if `signature` is incorrect OR non-compliant with LOW-S-standard rule: MUST send a `warning` and "
        "close the connection, or send an `error` and fail the channel"
    )


# --- normal operation -------------------------------------------------------------------------------------


class HtlcAmountBelowMinimum(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_add_htlc-receiver-should-01",)
    REQUIREMENT = "receiving an `amount_msat` equal to 0, OR less than its own `htlc_minimum_msat`"


class HtlcSenderCannotAfford(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_add_htlc-receiver-should-02",)
    REQUIREMENT = (
        "receiving an `amount_msat` that the sending node cannot afford at the current `feerate_per_kw` "
        "(while maintaining its channel reserve and any `to_local_anchor` and `to_remote_anchor` costs)"
    )


class TooManyHtlcs(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_add_htlc-receiver-should-03",)
    REQUIREMENT = (
        "if a sending node adds more than receiver `max_accepted_htlcs` HTLCs to its local commitment "
        "transaction"
    )


class HtlcValueInFlightExceeded(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_add_htlc-receiver-should-03",)
    REQUIREMENT = (
        "adds more than receiver `max_htlc_value_in_flight_msat` worth of offered HTLCs to its local "
        "commitment transaction"
    )


class CltvExpiryTooLarge(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_add_htlc-receiver-should-04",)
    REQUIREMENT = "if sending node sets `cltv_expiry` to greater or equal to 500000000"


class HtlcIdViolation(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_add_htlc-receiver-may-01",)
    REQUIREMENT = "if other `id` violations occur: MAY send a `warning` and close the connection, or fail"


class UpdateAfterShutdown(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-shutdown-sender-must_not-05",)
    REQUIREMENT = "MUST NOT send an `update_add_htlc` after a `shutdown`"


class UnknownHtlcId(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_fulfill_htlc-receiver-must-01",)
    REQUIREMENT = "if the `id` does not correspond to an HTLC in its current commitment transaction"


class PreimageMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_fulfill_htlc-receiver-must-02",)
    REQUIREMENT = (
        "if the `payment_preimage` value in `update_fulfill_htlc` doesn't SHA256 hash to the corresponding "
        "HTLC `payment_hash`"
    )


class MalformedWithoutBadonion(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_fulfill_htlc-receiver-must-03",)
    REQUIREMENT = "if the `BADONION` bit in `failure_code` is not set for `update_fail_malformed_htlc`"


class BadCommitmentSignature(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-commitment_signed-receiver-must-06",)
    REQUIREMENT = (
        "if `signature` is not valid for its local commitment transaction OR non-compliant with "
        "LOW-S-standard rule"
    )


class HtlcSignatureCountMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-commitment_signed-receiver-must-07",)
    REQUIREMENT = (
        "if `num_htlcs` is not equal to the number of HTLC outputs in the local commitment transaction"
    )


class BadHtlcSignature(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-commitment_signed-receiver-must-08",)
    REQUIREMENT = (
        "if any `htlc_signature` is not valid for the corresponding HTLC transaction OR non-compliant with "
        "LOW-S-standard rule"
    )


class InvalidRevocationSecret(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-revoke_and_ack-receiver-must-01",)
    REQUIREMENT = (
        "if `per_commitment_secret` is not a valid secret key or does not generate the previous "
        "`per_commitment_point`: MUST send an `error` and fail the channel"
    )


class RevocationSecretNotShachain(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-revoke_and_ack-receiver-may-01",)
    REQUIREMENT = (
        "if the `per_commitment_secret` was not generated by the protocol in BOLT #3: MAY send a `warning` "
        "and close the connection, or send an `error` and fail the channel"
    )


class UnexpectedMessage(PeerViolation):
    """A message the current state (or the commitment/revocation order) does not allow."""

    REQUIREMENT = "messages of the channel protocol arrive in the order BOLT 2 defines"


class CommitmentUnbuildable(PeerViolation):
    """The peer's updates lead to a commitment BOLT 3 cannot build (e.g. an opener too poor for its
    anchors); the checks above should make this unreachable, so it is a last line of defence."""

    REQUIREMENT = "BOLT 3 commitment transaction construction must be possible for the updated state"


class UpdateFeeFromNonFunder(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_fee-receiver-must-02",)
    REQUIREMENT = "if the sender is not responsible for paying the Bitcoin fee"


class UpdateFeeUnaffordable(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_fee-receiver-should-01",)
    REQUIREMENT = "if the sender cannot afford the new fee rate on the receiving node's current commitment"


class UpdateFeeFeerateUnacceptable(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-update_fee-receiver-must-01",)
    REQUIREMENT = "if the `update_fee` is too low for timely processing, OR is unreasonably large"


# --- reestablish -------------------------------------------------------------------------------------------


class ReestablishZeroCommitmentNumber(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-retransmission-node-must-05",)
    REQUIREMENT = (
        "if `next_commitment_number` is zero: MUST immediately fail the channel and broadcast any relevant "
        "latest commitment transaction"
    )


class ReestablishCommitmentNumberMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-retransmission-node-should-02",)
    REQUIREMENT = (
        "if `next_commitment_number` is not equal to the commitment number of the next `commitment_signed` "
        "that the receiving node would send: SHOULD send an `error` and fail the channel"
    )


class ReestablishRevocationNumberMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-retransmission-node-should-03",)
    REQUIREMENT = (
        "if `next_revocation_number` is not equal to 1 greater than the commitment number of the last "
        "`revoke_and_ack` the receiving node has sent: SHOULD send an `error` and fail the channel"
    )


class ReestablishWrongSecret(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-retransmission-node-should-06",)
    REQUIREMENT = (
        "if `your_last_per_commitment_secret` does not match the expected values: SHOULD send an `error` "
        "and fail the channel"
    )


class WeAreBehind(PeerViolation):
    """option_data_loss_protect: the peer proved it holds a newer state than ours."""

    REQUIREMENT_IDS = ("bolt02-retransmission-node-must_not-02", "bolt02-retransmission-node-should-05")
    REQUIREMENT = (
        "if `next_revocation_number` is greater than expected above, AND `your_last_per_commitment_secret` "
        "is correct for that `next_revocation_number` minus 1: MUST NOT broadcast its commitment transaction"
    )
    REACTION = Reaction.ERROR_WITHOUT_BROADCAST


# --- closing -----------------------------------------------------------------------------------------------


class ShutdownBeforeFunding(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-shutdown-receiver-should-01",)
    REQUIREMENT = (
        "if it hasn't received a `funding_signed` (if it is a funder) or a `funding_created` (if it is a "
        "fundee): SHOULD send an `error` and fail the channel"
    )


class ShutdownScriptInvalid(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-shutdown-receiver-should-02", "bolt02-closing_complete-closee-should-05")
    REQUIREMENT = "if the `scriptpubkey` is not in one of the above forms: SHOULD send a `warning`"
    REACTION = Reaction.WARN_AND_DISCONNECT


class UpfrontShutdownScriptMismatch(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-shutdown-receiver-may-02", "bolt02-shutdown-receiver-must-02")
    REQUIREMENT = (
        "that `shutdown_scriptpubkey` is not equal to `scriptpubkey`: MAY send a `warning`. MUST fail the "
        "connection."
    )
    REACTION = Reaction.WARN_AND_DISCONNECT


class BadClosingSignature(PeerViolation):
    REQUIREMENT_IDS = (
        "bolt02-closing_signed-receiver-must-01",
        "bolt02-closing_complete-closee-must-09",
        "bolt02-closing_complete-closing_sig_receiver-must-04",
    )
    REQUIREMENT = (
        "if the `signature` is not valid for either variant of closing transaction OR non-compliant with "
        "LOW-S-standard rule"
    )


class ClosingFeeOutOfRange(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-closing_signed-receiver-must-03", "bolt02-closing_signed-receiver-must-05")
    REQUIREMENT = (
        "if `fee_satoshis` is not in the overlap between the sent and received `fee_range`: MUST fail the "
        "channel"
    )


class ClosingFeeNotConverging(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-closing_signed-receiver-should-05",)
    REQUIREMENT = (
        "if `fee_satoshis` is not strictly between its last-sent `fee_satoshis` and its previously-received "
        "`fee_satoshis`, UNLESS it has since reconnected"
    )


class ClosingOutputBelowDust(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-closing_signed-receiver-must-08",)
    REQUIREMENT = (
        "if one of the outputs in the closing transaction is below the dust limit for its `scriptpubkey`: "
        "MUST fail the channel"
    )


class ClosingFeeTooHigh(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-closing_complete-closee-must-01",)
    REQUIREMENT = "If `fee_satoshis` is greater than the closer's outstanding balance"


class ClosingScriptMismatch(PeerViolation):
    REQUIREMENT_IDS = (
        "bolt02-closing_complete-closee-should-01",
        "bolt02-closing_complete-closee-should-02",
        "bolt02-closing_complete-closee-should-03",
    )
    REQUIREMENT = (
        "If `closee_scriptpubkey` does not match the last script it sent: SHOULD ignore `closing_complete`, "
        "SHOULD send a `warning`, SHOULD close the connection"
    )
    REACTION = Reaction.WARN_AND_DISCONNECT


class ClosingSigMismatch(PeerViolation):
    REQUIREMENT_IDS = (
        "bolt02-closing_complete-closing_sig_receiver-must-01",
        "bolt02-closing_complete-closing_sig_receiver-must-02",
        "bolt02-closing_complete-closing_sig_receiver-must-03",
    )
    REQUIREMENT = (
        "If `closer_scriptpubkey`, `closee_scriptpubkey`, `fee_satoshis` or `locktime` don't match what was "
        "sent in `closing_complete`, or `tlvs` does not contain exactly one signature sent in it"
    )


class ClosingSignatureFieldMissing(PeerViolation):
    REQUIREMENT_IDS = ("bolt02-closing_complete-closee-must-08",)
    REQUIREMENT = "If the selected signature field does not exist"


# --- commands from our own caller ---------------------------------------------------------------------------


class CommandRejected(ChannelError):
    """Our caller asked for something the spec forbids the sender to do; nothing was changed."""


class FundingOutputMismatch(ChannelError):
    """A chain event reported a funding output that does not pay `funding_satoshis` to the funding script."""
