"""Convert between the channel machine's messages (messages.py) and reference_node.wire's codecs.

The only module of this package that knows the wire API: `to_wire(msg)` for sending, `from_wire(msg)` for
received messages (None for messages that are not channel messages).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from reference_node.channel import messages as m
from reference_node.wire import Message, build_message

# my attribute -> (TLV record name, field inside the record), per message
_TLVS: dict[str, dict[str, tuple[str, str]]] = {
    "open_channel": {
        "upfront_shutdown_script": ("upfront_shutdown_script", "shutdown_scriptpubkey"),
        "channel_type": ("channel_type", "type"),
    },
    "accept_channel": {
        "upfront_shutdown_script": ("upfront_shutdown_script", "shutdown_scriptpubkey"),
        "channel_type": ("channel_type", "type"),
    },
    "channel_ready": {"alias": ("short_channel_id", "alias")},
    "update_add_htlc": {"path_key": ("blinded_path", "path_key")},
    "closing_complete": {
        "closer_output_only": ("closer_output_only", "sig"),
        "closee_output_only": ("closee_output_only", "sig"),
        "closer_and_closee_outputs": ("closer_and_closee_outputs", "sig"),
    },
    "closing_sig": {
        "closer_output_only": ("closer_output_only", "sig"),
        "closee_output_only": ("closee_output_only", "sig"),
        "closer_and_closee_outputs": ("closer_and_closee_outputs", "sig"),
    },
}

_CLASSES: dict[str, type[m.ChannelMessage]] = {
    cls.NAME: cls
    for cls in (
        m.OpenChannel,
        m.AcceptChannel,
        m.FundingCreated,
        m.FundingSigned,
        m.ChannelReady,
        m.UpdateAddHtlc,
        m.UpdateFulfillHtlc,
        m.UpdateFailHtlc,
        m.UpdateFailMalformedHtlc,
        m.UpdateFee,
        m.CommitmentSigned,
        m.RevokeAndAck,
        m.ChannelReestablish,
        m.Shutdown,
        m.ClosingSigned,
        m.ClosingComplete,
        m.ClosingSig,
        m.Error,
        m.Warning,
    )
}


def _json(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


def to_wire(msg: m.ChannelMessage) -> Message:
    tlv_map = _TLVS.get(msg.NAME, {})
    fields: dict[str, Any] = {}
    tlvs: dict[str, Any] = {}
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        if f.name in tlv_map:
            if value is not None:
                record, field = tlv_map[f.name]
                tlvs[record] = {field: _json(value)}
        elif isinstance(value, m.FeeRange):
            tlvs["fee_range"] = {
                "min_fee_satoshis": value.min_fee_satoshis,
                "max_fee_satoshis": value.max_fee_satoshis,
            }
        elif f.name == "fee_range":
            continue  # absent fee_range
        else:
            fields[f.name] = _json(value)
    if tlvs:
        fields["tlvs"] = tlvs
    return build_message(msg.NAME, fields)


def from_wire(wire: Message) -> m.ChannelMessage | None:
    cls = _CLASSES.get(wire.NAME)
    if cls is None:
        return None
    tlv_map = _TLVS.get(wire.NAME, {})
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in tlv_map:
            record_name, field = tlv_map[f.name]
            record = getattr(wire.tlvs, record_name, None)
            value = None if record is None else getattr(record, field)
            if value is not None and hints[f.name] == int | None:
                value = int.from_bytes(value.to_bytes(), "big")  # short_channel_id alias
            kwargs[f.name] = value
        elif f.name == "fee_range":
            record = getattr(wire.tlvs, "fee_range", None)
            kwargs[f.name] = (
                None if record is None else m.FeeRange(record.min_fee_satoshis, record.max_fee_satoshis)
            )
        else:
            value = getattr(wire, f.name)
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
