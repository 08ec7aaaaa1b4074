"""JSON-RPC of the process node, on a unix socket `<data-dir>/lightning-rpc` (mode 0600), in Core
Lightning's framing (a JSON object in, a JSON object followed by a blank line out) with Core Lightning's
method names, parameters and result shapes, so pyln-client and `lightning-cli --rpc-file` work unchanged.
Methods this node does not have answer -32601; `dev-*` methods are the harness's fault controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from reference_node.bitcoin.address import script_to_address
from reference_node.bitcoin.ecdsa import compact_to_der
from reference_node.bitcoin.tx import Tx
from reference_node.channel import ChannelState, ChannelType
from reference_node.channel.params import Side
from reference_node.node import ChannelOpenFailed, LightningNode, PeerConnectFailed
from reference_node.payments.channels import ChannelCommandError, ChannelSlot, scid_text
from reference_node.payments.service import PaymentError
from reference_node.store import InvoiceRow, InvoiceStatus, PaymentRow, PaymentStatus, StoreError
from reference_node.unix_socket import start_unix_server

log = logging.getLogger(__name__)

RPC_FILE = "lightning-rpc"
VERSION = "boltcheck-reference-0.1"

# Core Lightning's error codes (common/jsonrpc_errors.h)
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
LIGHTNINGD = -1
PAY_STOPPED_RETRYING = 210
FUND_CANNOT_AFFORD = 300
FUNDING_UNKNOWN_PEER = 305
CONNECT_ALL_ADDRESSES_FAILED = 401
INVOICE_LABEL_ALREADY_EXISTS = 900
INVOICE_EXPIRED_DURING_WAIT = 903

# Core Lightning's channel state names (listpeerchannels `state`)
CLN_STATE: dict[ChannelState, str] = {
    ChannelState.OPENER_INIT: "OPENINGD",
    ChannelState.OPEN_CHANNEL_SENT: "OPENINGD",
    ChannelState.AWAITING_FUNDING_TX: "OPENINGD",
    ChannelState.FUNDING_CREATED_SENT: "OPENINGD",
    ChannelState.ACCEPTER_INIT: "OPENINGD",
    ChannelState.ACCEPT_CHANNEL_SENT: "OPENINGD",
    ChannelState.AWAITING_CHANNEL_READY: "CHANNELD_AWAITING_LOCKIN",
    ChannelState.NORMAL: "CHANNELD_NORMAL",
    ChannelState.SHUTTING_DOWN: "CHANNELD_SHUTTING_DOWN",
    ChannelState.NEGOTIATING_CLOSING: "CLOSINGD_SIGEXCHANGE",
    ChannelState.CLOSING_BROADCAST: "CLOSINGD_COMPLETE",
    ChannelState.CLOSED: "ONCHAIN",
    ChannelState.FAILED: "AWAITING_UNILATERAL",
}


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_msat(value: object, default_unit: str = "msat") -> int:
    """Core Lightning amounts: an integer in `default_unit`, or a string ending in msat, sat or btc."""
    if isinstance(value, bool):
        raise RpcError(INVALID_PARAMS, f"not an amount: {value!r}")
    if isinstance(value, int):
        return value * (1000 if default_unit == "sat" else 1)
    if isinstance(value, str):
        text = value.strip()
        for suffix, factor in (("msat", 1), ("sat", 1000), ("btc", 100_000_000_000)):
            if text.endswith(suffix) and text[: -len(suffix)].isdigit():
                return int(text[: -len(suffix)]) * factor
        if text.isdigit():
            return parse_msat(int(text), default_unit)
    raise RpcError(INVALID_PARAMS, f"not an amount: {value!r}")


def _hex(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise RpcError(INVALID_PARAMS, f"{name}: should be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, f"{name}: should be a hex string") from exc


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class RpcServer:
    """Serves one `LightningNode`. `request_stop` is called after the `stop` reply is written."""

    def __init__(self, node: LightningNode, socket_path: Path, request_stop: Callable[[], None]) -> None:
        self.node = node
        self.socket_path = socket_path
        self._request_stop = request_stop
        self._server: asyncio.AbstractServer | None = None
        self._methods: dict[str, tuple[tuple[str, ...], Handler]] = {
            "getinfo": ((), self.getinfo),
            "connect": (("id", "host", "port"), self.connect),
            "disconnect": (("id", "force"), self.disconnect),
            "listpeers": (("id",), self.listpeers),
            "newaddr": (("addresstype",), self.newaddr),
            "listfunds": (("spent",), self.listfunds),
            "fundchannel": (
                ("id", "amount", "feerate", "announce", "minconf", "push_msat", "channel_type"),
                self.fundchannel,
            ),
            "listpeerchannels": (("id",), self.listpeerchannels),
            "invoice": (("amount_msat", "label", "description", "expiry"), self.invoice),
            "listinvoices": (("label",), self.listinvoices),
            "decodepay": (("bolt11",), self.decodepay),
            "pay": (("bolt11", "amount_msat", "label", "riskfactor", "maxfeepercent", "retry_for"), self.pay),
            "listpays": (("bolt11", "payment_hash"), self.listpays),
            "waitinvoice": (("label",), self.waitinvoice),
            "close": (("id", "unilateraltimeout", "destination"), self.close_channel),
            "stop": ((), self.stop),
            "dev-sync": ((), self.dev_sync),
            "dev-faults": (
                ("drop_message_types", "delay_message_types", "withhold_preimages", "offline"),
                self.dev_faults,
            ),
            "dev-sendraw": (("id", "msghex"), self.dev_sendraw),
            "dev-update-fee": (("id", "feerate_per_kw"), self.dev_update_fee),
            "dev-wait-settled": (("id", "timeout"), self.dev_wait_settled),
            "dev-wait-state": (("id", "states", "timeout"), self.dev_wait_state),
            "dev-fail": (("id",), self.dev_fail),
        }
        # Multi-hop payments (reference_node/pay): forwarding, gossip, and Core Lightning's getroute,
        # listchannels, listnodes, sendpay, waitsendpay, and `pay` across hops (direct payees keep the
        # payment service's `pay`).
        from reference_node.pay.rpc_methods import MultihopRpc

        self.multihop = MultihopRpc(node)
        self._methods.update(self.multihop.methods())
        # the fault controls (dev-breach, dev-withhold-preimages, dev-refuse-close, dev-go-offline)
        from reference_node.rpc_dev import DevFaultRpc

        self._methods.update(DevFaultRpc(node).methods())

    # -- serving ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        old_umask = os.umask(0o177)  # the socket is created 0600: only our user may drive the node
        try:
            self._server = await start_unix_server(self._serve, self.socket_path)
        finally:
            os.umask(old_umask)
        os.chmod(self.socket_path, 0o600)

    async def close(self) -> None:
        await self.multihop.stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = json.JSONDecoder()
        buffer = ""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buffer += chunk.decode("utf-8", "replace")
                while True:
                    buffer = buffer.lstrip()
                    if not buffer:
                        break
                    try:
                        request, end = decoder.raw_decode(buffer)
                    except json.JSONDecodeError:
                        break  # incomplete: read more
                    buffer = buffer[end:]
                    reply = await self._answer(request)
                    writer.write(json.dumps(reply).encode() + b"\n\n")
                    await writer.drain()
                    if isinstance(request, dict) and request.get("method") == "stop":
                        self._request_stop()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _answer(self, request: object) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        request_id = request.get("id")
        method = request["method"]
        try:
            entry = self._methods.get(method)
            if entry is None:
                raise RpcError(METHOD_NOT_FOUND, f"Unknown command '{method}'")
            names, handler = entry
            params = self._params(names, request.get("params", {}))
            result = await handler(params)
        except RpcError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            data = getattr(exc, "data", None)  # Core Lightning's failure details (waitsendpay)
            if data is not None:
                error["data"] = data
            return {"jsonrpc": "2.0", "id": request_id, "error": error}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    @staticmethod
    def _params(names: tuple[str, ...], raw: object) -> dict[str, Any]:
        if isinstance(raw, list):
            if len(raw) > len(names):
                raise RpcError(INVALID_PARAMS, f"too many parameters: {len(raw)} > {len(names)}")
            return {name: value for name, value in zip(names, raw, strict=False) if value is not None}
        if isinstance(raw, dict):
            unknown = set(raw) - set(names)
            if unknown:
                raise RpcError(INVALID_PARAMS, f"unknown parameter: {sorted(unknown)[0]}")
            return {k: v for k, v in raw.items() if v is not None}
        raise RpcError(INVALID_PARAMS, "params must be an array or an object")

    # -- node ------------------------------------------------------------------------------------------

    async def getinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        node = self.node
        host, port = node.node.address
        states = [s.channel.state for s in node.channels.slots.values()]
        return {
            "id": node.node_id.hex(),
            "alias": node.alias,
            "color": node.node_id[1:4].hex(),
            "num_peers": len(node.node.peers),
            "num_pending_channels": sum(
                st in (ChannelState.AWAITING_CHANNEL_READY, ChannelState.OPEN_CHANNEL_SENT) for st in states
            ),
            "num_active_channels": sum(st is ChannelState.NORMAL for st in states),
            "num_inactive_channels": sum(st in (ChannelState.CLOSED, ChannelState.FAILED) for st in states),
            "address": [],
            "binding": [{"type": "ipv4", "address": host, "port": port}],
            "version": VERSION,
            "blockheight": node.current_height(),
            "network": node.node.config.network.value,
            "fees_collected_msat": 0,
            "lightning-dir": str(node.data_dir),
            "our_features": {"init": node.node.config.features.to_bytes().hex()},
        }

    async def stop(self, params: dict[str, Any]) -> str:
        return "Shutdown complete"

    async def connect(self, params: dict[str, Any]) -> dict[str, Any]:
        target = params.get("id")
        if not isinstance(target, str):
            raise RpcError(INVALID_PARAMS, "id: should be a node id")
        node_hex, _, address = target.partition("@")
        host = params.get("host")
        port = params.get("port")
        if address:
            host, _, port_text = address.rpartition(":")
            port = int(port_text)
        if host is None or port is None:
            raise RpcError(
                INVALID_PARAMS, "host and port are needed (this node has no gossip to look them up)"
            )
        node_id = _hex(node_hex, "id")
        try:
            peer = await self.node.connect(node_id, str(host), int(port))
        except PeerConnectFailed as exc:
            raise RpcError(CONNECT_ALL_ADDRESSES_FAILED, f"Connection establishment: {exc}") from exc
        features = peer.remote_features.to_bytes().hex() if peer.remote_features else ""
        return {
            "id": node_id.hex(),
            "features": features,
            "direction": "out",
            "address": {"type": "ipv4", "address": str(host), "port": int(port)},
        }

    async def disconnect(self, params: dict[str, Any]) -> dict[str, Any]:
        node_id = _hex(params.get("id"), "id")
        peer = self.node.node.peer(node_id)
        if peer is None:
            raise RpcError(LIGHTNINGD, "Peer not connected")
        before = len(self.node.node.disconnects(node_id))
        await peer.disconnect("disconnect requested over RPC")
        await self.node.node.wait_for_disconnect(node_id, 30.0, after=before)
        return {}

    async def listpeers(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("id")
        ids = {s.peer_id for s in self.node.channels.slots.values()} | set(self.node.node.peers)
        peers = []
        for node_id in sorted(ids):
            if wanted is not None and node_id.hex() != wanted:
                continue
            peer = self.node.node.peer(node_id)
            peers.append(
                {
                    "id": node_id.hex(),
                    "connected": peer is not None,
                    "num_channels": len(self.node.channels.slots_of(node_id)),
                    "features": peer.remote_features.to_bytes().hex()
                    if peer and peer.remote_features
                    else "",
                }
            )
        return {"peers": peers}

    # -- wallet ----------------------------------------------------------------------------------------

    async def newaddr(self, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("addresstype", "bech32")
        if kind not in ("bech32", "all"):
            raise RpcError(INVALID_PARAMS, f"addresstype {kind!r}: only bech32 (P2WPKH) is supported")
        return {"bech32": self.node.wallet.new_address()}

    async def listfunds(self, params: dict[str, Any]) -> dict[str, Any]:
        network = self.node.wallet.network
        outputs = [
            {
                "txid": u.txid[::-1].hex(),
                "output": u.vout,
                "amount_msat": u.value_sat * 1000,
                "scriptpubkey": u.script.hex(),
                "address": script_to_address(u.script, network),
                "status": "confirmed" if u.height is not None else "unconfirmed",
                **({"blockheight": u.height} if u.height is not None else {}),
                "reserved": u.reserved,
            }
            for u in self.node.wallet.utxos()
        ]
        channels = [
            {
                "peer_id": s.peer_id.hex(),
                "connected": self.node.node.peer(s.peer_id) is not None,
                "state": CLN_STATE[s.channel.state],
                "channel_id": (s.channel.data.channel_id or b"").hex(),
                "our_amount_msat": _to_us_msat(s),
                "amount_msat": s.channel.data.funding_satoshis * 1000,
                "funding_txid": (s.channel.data.funding_txid or b"")[::-1].hex(),
                "funding_output": s.channel.data.funding_output_index,
                **_scid(s),
            }
            for s in self.node.channels.slots.values()
            if s.channel.data.funding_txid is not None
        ]
        return {"outputs": outputs, "channels": channels}

    # -- channels --------------------------------------------------------------------------------------

    async def fundchannel(self, params: dict[str, Any]) -> dict[str, Any]:
        node_id = _hex(params.get("id"), "id")
        if "amount" not in params:
            raise RpcError(INVALID_PARAMS, "missing required parameter: amount")
        amount_sat = parse_msat(params["amount"], "sat") // 1000
        push_msat = parse_msat(params.get("push_msat", 0))
        channel_type = _channel_type(params.get("channel_type"))
        feerate = params.get("feerate")
        feerate_per_kw = _feerate_per_kw(feerate) if feerate is not None else None
        try:
            result = await self.node.fund_channel(
                node_id,
                amount_sat,
                push_msat,
                channel_type,
                bool(params.get("announce", True)),
                feerate_per_kw,
            )
        except ChannelOpenFailed as exc:
            code = FUNDING_UNKNOWN_PEER if "not connected" in str(exc) else FUND_CANNOT_AFFORD
            raise RpcError(code, str(exc)) from exc
        return {
            "tx": result.funding_tx.hex(),
            "txid": result.funding_txid[::-1].hex(),
            "outnum": result.funding_output_index,
            "channel_id": result.channel_id.hex(),
            "channel_type": {"bits": sorted(channel_type.bits()), "names": _type_names(channel_type)},
        }

    async def listpeerchannels(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("id")
        return {
            "channels": [
                self._channel_json(s)
                for s in self.node.channels.slots.values()
                if wanted is None or s.peer_id.hex() == wanted
            ]
        }

    def _channel_json(self, slot: ChannelSlot) -> dict[str, Any]:
        data = slot.channel.data
        ledger = data.ledger
        result: dict[str, Any] = {
            "peer_id": slot.peer_id.hex(),
            "peer_connected": self.node.node.peer(slot.peer_id) is not None,
            "state": CLN_STATE[slot.channel.state],
            "opener": "local" if data.opener is Side.LOCAL else "remote",
            "channel_type": {
                "bits": sorted(data.channel_type.bits()),
                "names": _type_names(data.channel_type),
            },
            "total_msat": data.funding_satoshis * 1000,
            "to_us_msat": _to_us_msat(slot),
            **_scid(slot),
        }
        if data.channel_id is not None:
            result["channel_id"] = data.channel_id.hex()
        if data.funding_txid is not None:
            result["funding_txid"] = data.funding_txid[::-1].hex()
            result["funding_outnum"] = data.funding_output_index
        if ledger is not None:
            view = ledger.current_view(Side.LOCAL)
            result["feerate"] = {"perkw": view.feerate_per_kw, "perkb": view.feerate_per_kw * 4}
            result["htlcs"] = [
                {
                    "direction": "out" if h.offerer is Side.LOCAL else "in",
                    "id": h.htlc_id,
                    "amount_msat": h.amount_msat,
                    "expiry": h.cltv_expiry,
                    "payment_hash": h.payment_hash.hex(),
                }
                for h in ledger.all_view().htlcs
            ]
        if data.failure:
            result["status"] = [data.failure]
        return result

    async def close_channel(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_ref = params.get("id")
        if not isinstance(channel_ref, str):
            raise RpcError(INVALID_PARAMS, "id: should be a channel id, short channel id or peer id")
        timeout = params.get("unilateraltimeout", 172800)
        if not isinstance(timeout, int):
            raise RpcError(INVALID_PARAMS, "unilateraltimeout: should be an integer")
        try:
            # Core Lightning: unilateraltimeout 0 waits forever for the mutual close
            result = await self.node.close(channel_ref, None if timeout == 0 else float(timeout), False)
        except ChannelCommandError as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        reply: dict[str, Any] = {"type": "unilateral" if result.unilateral else "mutual"}
        if result.tx is not None:
            reply["tx"] = result.tx.hex()
            reply["txid"] = Tx.parse(result.tx).txid_hex
        return reply

    # -- invoices and payments -------------------------------------------------------------------------

    async def invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("amount_msat", "label", "description"):
            if name not in params:
                raise RpcError(INVALID_PARAMS, f"missing required parameter: {name}")
        raw_amount = params["amount_msat"]
        amount_msat = None if raw_amount == "any" else parse_msat(raw_amount)
        expiry = params.get("expiry")
        try:
            row = self.node.payments.create_invoice(
                amount_msat, str(params["label"]), str(params["description"]), expiry
            )
        except (PaymentError, StoreError) as exc:
            raise RpcError(INVOICE_LABEL_ALREADY_EXISTS, str(exc)) from exc
        return {
            "payment_hash": row.payment_hash.hex(),
            "expires_at": row.expires_at,
            "bolt11": row.bolt11,
            "payment_secret": row.payment_secret.hex(),
        }

    def _invoice_json(self, row: InvoiceRow) -> dict[str, Any]:
        status = self.node.payments.invoice_status(row)
        result: dict[str, Any] = {
            "label": row.label,
            "bolt11": row.bolt11,
            "payment_hash": row.payment_hash.hex(),
            "status": status.value,
            "description": row.description,
            "expires_at": row.expires_at,
        }
        if row.amount_msat is not None:
            result["amount_msat"] = row.amount_msat
        if status is InvoiceStatus.PAID:
            result.update(
                pay_index=row.pay_index,
                amount_received_msat=row.received_msat,
                paid_at=row.paid_at,
                payment_preimage=row.preimage.hex(),
            )
        return result

    async def listinvoices(self, params: dict[str, Any]) -> dict[str, Any]:
        label = params.get("label")
        rows = self.node.store.invoices()
        return {"invoices": [self._invoice_json(r) for r in rows if label is None or r.label == label]}

    async def waitinvoice(self, params: dict[str, Any]) -> dict[str, Any]:
        label = params.get("label")
        if not isinstance(label, str):
            raise RpcError(INVALID_PARAMS, "label: should be a string")
        try:
            row = await self.node.payments.wait_invoice(label, 3600.0 * 24)
        except PaymentError as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        if self.node.payments.invoice_status(row) is InvoiceStatus.EXPIRED:
            raise RpcError(INVOICE_EXPIRED_DURING_WAIT, "invoice expired during wait")
        return self._invoice_json(row)

    async def decodepay(self, params: dict[str, Any]) -> dict[str, Any]:
        bolt11 = params.get("bolt11")
        if not isinstance(bolt11, str):
            raise RpcError(INVALID_PARAMS, "bolt11: should be a string")
        try:
            invoice = self.node.payments.decode(bolt11)
        except PaymentError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from exc
        result: dict[str, Any] = {
            "currency": invoice.currency.value,
            "created_at": invoice.timestamp,
            "expiry": invoice.expiry_seconds,
            "payee": invoice.payee_node_id.hex(),
            "payment_hash": invoice.payment_hash.hex(),
            "payment_secret": invoice.payment_secret.hex(),
            "min_final_cltv_expiry": invoice.min_final_cltv_expiry_delta,
            "features": invoice.features.to_bytes().hex(),
            "signature": compact_to_der(invoice.signature.compact).hex(),
        }
        if invoice.amount_msat is not None:
            result["amount_msat"] = invoice.amount_msat
        if invoice.description is not None:
            result["description"] = invoice.description
        if invoice.description_hash is not None:
            result["description_hash"] = invoice.description_hash.hex()
        return result

    async def pay(self, params: dict[str, Any]) -> dict[str, Any]:
        bolt11 = params.get("bolt11")
        if not isinstance(bolt11, str):
            raise RpcError(INVALID_PARAMS, "bolt11: should be a string")
        amount = params.get("amount_msat")
        retry_for = params.get("retry_for", 60)
        try:
            self.node.payments.decode(bolt11)
        except PaymentError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from exc
        try:
            row = await self.node.payments.pay(
                bolt11, None if amount is None else parse_msat(amount), float(retry_for)
            )
        except PaymentError as exc:
            raise RpcError(PAY_STOPPED_RETRYING, str(exc)) from exc
        if row.status is PaymentStatus.FAILED:
            raise RpcError(PAY_STOPPED_RETRYING, f"Ran out of routes to try: {row.failure}")
        return _payment_json(row)

    async def listpays(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted_hash = params.get("payment_hash")
        wanted_bolt11 = params.get("bolt11")
        return {
            "pays": [
                _payment_json(r)
                for r in self.node.store.payments()
                if (wanted_hash is None or r.payment_hash.hex() == wanted_hash)
                and (wanted_bolt11 is None or r.bolt11 == wanted_bolt11)
            ]
        }

    # -- dev: harness controls -------------------------------------------------------------------------

    async def dev_sync(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"blockheight": await self.node.sync_chain()}

    async def dev_faults(self, params: dict[str, Any]) -> dict[str, Any]:
        controls = self.node.controls
        if "drop_message_types" in params:
            controls.drop_message_types = set(params["drop_message_types"])
        if "delay_message_types" in params:
            controls.delay_message_types_s = {
                str(k): float(v) for k, v in params["delay_message_types"].items()
            }
        if "withhold_preimages" in params:
            controls.withhold_preimages = bool(params["withhold_preimages"])
        if "offline" in params:
            await self.node.go_offline(bool(params["offline"]))
        return {
            "drop_message_types": sorted(controls.drop_message_types),
            "delay_message_types": controls.delay_message_types_s,
            "withhold_preimages": controls.withhold_preimages,
            "offline": controls.offline,
            "defects": sorted(d.value for d in self.node.faults.defects),
        }

    async def dev_sendraw(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            await self.node.send_raw(_hex(params.get("id"), "id"), _hex(params.get("msghex"), "msghex"))
        except PeerConnectFailed as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        return {}

    async def dev_update_fee(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = params.get("id")
        feerate = params.get("feerate_per_kw")
        if not isinstance(ref, str) or not isinstance(feerate, int):
            raise RpcError(INVALID_PARAMS, "id (channel) and feerate_per_kw (integer) are needed")
        try:
            slot = self.node.channels.find(ref)
            await self.node.channels.command(slot, lambda: slot.channel.update_fee(feerate))
        except ChannelCommandError as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        return {"feerate_per_kw": feerate}

    async def dev_wait_state(self, params: dict[str, Any]) -> dict[str, Any]:
        """Wait until a channel is in one of `states` (Core Lightning state names); returns the channel."""
        ref = params.get("id")
        states = params.get("states")
        timeout = params.get("timeout", 60)
        if not isinstance(ref, str) or not isinstance(states, list) or not isinstance(timeout, int | float):
            raise RpcError(
                INVALID_PARAMS, "id (channel), states (list of state names) and timeout are needed"
            )
        wanted = frozenset(state for state, name in CLN_STATE.items() if name in states)
        try:
            slot = await self.node.wait_for_channel(ref, wanted, float(timeout))
        except ChannelCommandError as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        except TimeoutError as exc:
            raise RpcError(LIGHTNINGD, f"channel {ref} not in {states} after {timeout}s") from exc
        return self._channel_json(slot)

    async def dev_fail(self, params: dict[str, Any]) -> dict[str, Any]:
        """Core Lightning's dev-fail: fail the channel and broadcast our latest commitment (unilateral)."""
        ref = params.get("id")
        if not isinstance(ref, str):
            raise RpcError(INVALID_PARAMS, "id: should be a channel id, short channel id or peer id")
        try:
            result = await self.node.close(ref, None, force=True)
        except ChannelCommandError as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc
        reply: dict[str, Any] = {"type": "unilateral"}
        if result.tx is not None:
            reply.update(tx=result.tx.hex(), txid=Tx.parse(result.tx).txid_hex)
        return reply

    async def dev_wait_settled(self, params: dict[str, Any]) -> dict[str, Any]:
        """Wait until a channel has no update in flight (every HTLC and fee change in both commitments and
        revoked for), so both sides' balances can be compared."""
        ref = params.get("id")
        timeout = params.get("timeout", 60)
        if not isinstance(ref, str) or not isinstance(timeout, int | float):
            raise RpcError(INVALID_PARAMS, "id (channel) and timeout (seconds) are needed")
        try:
            slot = self.node.channels.find(ref)
        except ChannelCommandError as exc:
            raise RpcError(LIGHTNINGD, str(exc)) from exc

        def settled() -> bool:
            ledger = slot.channel.data.ledger
            return ledger is not None and not ledger.updates and not ledger.remote_pending

        try:
            await self.node.channels.changes.wait_for(settled, float(timeout))
        except TimeoutError as exc:
            raise RpcError(LIGHTNINGD, f"channel {ref} still has updates in flight after {timeout}s") from exc
        return {"to_us_msat": _to_us_msat(slot)}


def _payment_json(row: PaymentRow) -> dict[str, Any]:
    result: dict[str, Any] = {
        "payment_hash": row.payment_hash.hex(),
        "bolt11": row.bolt11,
        "destination": row.destination.hex(),
        "created_at": row.created_at,
        "parts": 1,
        "amount_msat": row.amount_msat,
        "amount_sent_msat": row.amount_msat,
        "status": row.status.value,
    }
    if row.preimage is not None:
        result["payment_preimage"] = row.preimage.hex()
    return result


def _to_us_msat(slot: ChannelSlot) -> int:
    if slot.channel.data.ledger is None:
        return slot.channel.data.push_msat if slot.channel.data.opener is Side.REMOTE else 0
    return slot.channel.balances_msat()[0]


def _scid(slot: ChannelSlot) -> dict[str, str]:
    scid = slot.channel.data.short_channel_id
    return {} if scid is None else {"short_channel_id": scid_text(scid)}


def _type_names(channel_type: ChannelType) -> list[str]:
    names = ["static_remotekey/even"]
    if channel_type.anchors:
        names.append("anchors/even")
    if channel_type.scid_alias:
        names.append("scid_alias/even")
    if channel_type.zeroconf:
        names.append("zeroconf/even")
    return names


def _channel_type(value: object) -> ChannelType:
    """Core Lightning's `channel_type`: a list of feature bits (12 static_remotekey, 22 anchors, ...)."""
    if value is None:
        return ChannelType()
    if not isinstance(value, list) or not all(isinstance(b, int) for b in value):
        raise RpcError(INVALID_PARAMS, "channel_type: should be an array of feature bits")
    bits = set(value)
    if 12 not in bits or not bits <= {12, 22, 46, 50}:
        raise RpcError(INVALID_PARAMS, f"channel_type {sorted(bits)} is not a type this node supports")
    return ChannelType(anchors=22 in bits, scid_alias=46 in bits, zeroconf=50 in bits)


def _feerate_per_kw(value: object) -> int:
    """Core Lightning feerates: `NNNperkw`, `NNNperkb` (sat per 1000 vbytes), or a bare number (perkb)."""
    if isinstance(value, int):
        return max(253, value // 4)
    if isinstance(value, str):
        if value.endswith("perkw") and value[:-5].isdigit():
            return int(value[:-5])
        if value.endswith("perkb") and value[:-5].isdigit():
            return max(253, int(value[:-5]) // 4)
    raise RpcError(INVALID_PARAMS, f"feerate: {value!r} is not NNNperkw or NNNperkb")
