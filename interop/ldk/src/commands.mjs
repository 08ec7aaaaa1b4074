// The command channel: one JSON object per line on stdin ({"id", "method", "params"}), one answer per
// line on stdout ({"id", "result"} or {"id", "error": {"code", "message"}}); events are lines
// {"event": ...}. Methods may answer out of order (pay waits for its outcome).
import * as net from "node:net";
import * as ldk from "lightningdevkit";
import { LdkNode, NodeError, channelTypeName, optionValue } from "./ldk_node.mjs";
import { fromHex, reversedHex, toHex } from "./tx.mjs";

const DEFAULT_TIMEOUT_MS = 60_000;

function param(params, name, type) {
  const value = params?.[name];
  if (value === undefined) throw new NodeError("bad_params", `missing parameter ${name}`);
  if (type && typeof value !== type) throw new NodeError("bad_params", `parameter ${name} must be a ${type}`);
  return value;
}

function nodeId(params, name = "node_id") {
  const bytes = fromHex(param(params, name, "string"));
  if (bytes.length !== 33) throw new NodeError("bad_params", `${name} must be a 33-byte public key`);
  return bytes;
}

function channelId(params) {
  const bytes = fromHex(param(params, "channel_id", "string"));
  if (bytes.length !== 32) throw new NodeError("bad_params", "channel_id must be 32 bytes");
  return ldk.ChannelId.constructor_new(bytes);
}

function apiCheck(result, what) {
  if (result.is_ok()) return result;
  const err = result.err;
  const detail = err?.err ?? err?.constructor?.name ?? "error";
  throw new NodeError("api_error", `${what}: ${detail}`);
}

/** The msat of a list of InboundHTLCDetails / OutboundHTLCDetails. */
function sumMsat(htlcs) {
  return htlcs.reduce((total, htlc) => total + htlc.get_amount_msat(), 0n);
}

function shutdownStateName(details) {
  const state = optionValue(details.get_channel_shutdown_state());
  return state === null ? null : ldk.ChannelShutdownState[state].replace("LDKChannelShutdownState_", "");
}

export class Commands {
  constructor(node) {
    /** @type {LdkNode} */
    this.node = node;
  }

  async getinfo() {
    const cm = this.node.channelManager;
    const best = cm.current_best_block();
    return {
      node_id: toHex(cm.get_our_node_id()),
      port: this.node.port,
      implementation: "ldk",
      version: "0.1.0",
      block_height: best.get_height(),
      block_hash: reversedHex(best.get_block_hash()),
      init_features: toHex(cm.init_features().write()),
    };
  }

  async connect(params) {
    const peer = nodeId(params);
    const host = param(params, "host", "string");
    const port = param(params, "port", "number");
    const timeout = params.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    // As NodeLDKNet.connect_peer, but keeping the socket: a connection the peer (or LDK) closes before
    // init fails the command at once instead of at its timeout.
    const socket = new net.Socket();
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", (error) => reject(new NodeError("connect_failed", `${host}:${port}: ${error.message}`)));
      socket.connect(port, host);
    });
    let closed = false;
    socket.once("close", () => {
      closed = true;
      this.node.schedule();
    });
    const descriptor = this.node.net.get_descriptor(socket);
    const first = this.node.peerManager.new_outbound_connection(peer, descriptor, ldk.Option_SocketAddressZ.constructor_none());
    if (!first.is_ok()) {
      descriptor.disconnect_socket();
      throw new NodeError("connect_failed", "PeerManager refused the outbound connection");
    }
    descriptor.send_data(first.res, true);
    await this.node.waitFor(
      "the init exchange",
      () => {
        if (this.listedPeer(peer)) return true;
        if (closed) throw new NodeError("connect_failed", `${host}:${port} closed the connection before init`);
        return undefined;
      },
      timeout,
    );
    return { node_id: toHex(peer) };
  }

  listedPeer(peer) {
    return this.node.peerManager.list_peers().some((p) => toHex(p.get_counterparty_node_id()) === toHex(peer));
  }

  async disconnect(params) {
    const peer = nodeId(params);
    this.node.peerManager.disconnect_by_node_id(peer);
    await this.node.waitFor("the disconnect", () => (this.listedPeer(peer) ? undefined : true), params.timeout_ms ?? DEFAULT_TIMEOUT_MS);
    return {};
  }

  async list_peers() {
    return this.node.peerManager.list_peers().map((p) => ({ node_id: toHex(p.get_counterparty_node_id()) }));
  }

  async new_address() {
    // The driver turns the script into a bech32 address (no address code in this program).
    return { script_hex: this.node.wallet.scriptHex };
  }

  async balances() {
    return this.node.wallet.balances();
  }

  async sync() {
    return { height: await this.node.chain.sync() };
  }

  async open_channel(params) {
    const peer = nodeId(params);
    const amountSat = BigInt(param(params, "amount_sat", "number"));
    const pushMsat = BigInt(params.push_msat ?? 0);
    const anchors = params.anchors ?? this.node.anchors;
    const announce = params.announce ?? true;
    const userChannelId = this.node.randomU64();
    const config = this.node.userConfig(anchors, announce);
    if (params.feerate_per_kw !== undefined) throw new NodeError("unsupported", "LDK picks the opening feerate itself");
    const created = apiCheck(this.node.channelManager.create_channel(peer, amountSat, pushMsat, userChannelId, null, config), "create_channel");
    this.node.schedule();
    const wanted = toHex(created.res.get_a());
    return await this.node.waitFor(
      "channel_pending (funding broadcast)",
      () => this.node.lastEvents.find((e) => (e.event === "channel_pending" || e.event === "funding_failed") && e.temporary_channel_id === wanted),
      params.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    ).then((event) => {
      if (event.event === "funding_failed") throw new NodeError("funding_failed", event.error);
      return event;
    });
  }

  async list_channels() {
    const details = this.node.channelManager.list_channels();
    const open = details.map((d) => {
      const txo = d.get_funding_txo();
      const outpoint = txo ? `${reversedHex(txo.get_txid())}:${txo.get_index()}` : null;
      return {
        channel_id: toHex(d.get_channel_id().get_a()),
        peer_id: toHex(d.get_counterparty().get_node_id()),
        funding_outpoint: outpoint,
        funding_spend: outpoint ? (this.node.fundingSpends.get(outpoint) ?? null) : null,
        short_channel_id: optionValue(d.get_short_channel_id())?.toString() ?? null,
        capacity_sat: d.get_channel_value_satoshis().toString(),
        outbound_capacity_msat: d.get_outbound_capacity_msat().toString(),
        inbound_capacity_msat: d.get_inbound_capacity_msat().toString(),
        our_reserve_sat: (optionValue(d.get_unspendable_punishment_reserve()) ?? 0n).toString(),
        their_reserve_sat: d.get_counterparty().get_unspendable_punishment_reserve().toString(),
        is_outbound: d.get_is_outbound(),
        is_channel_ready: d.get_is_channel_ready(),
        is_usable: d.get_is_usable(),
        confirmations: optionValue(d.get_confirmations()),
        shutdown_state: shutdownStateName(d),
        channel_type: channelTypeName(d.get_channel_type()),
        pending_inbound_htlcs: d.get_pending_inbound_htlcs().length,
        pending_outbound_htlcs: d.get_pending_outbound_htlcs().length,
        // msat of the HTLCs in flight (LDK's capacities leave them out; the driver needs them to
        // recover the balance from the side that is above its reserve)
        pending_inbound_htlcs_msat: sumMsat(d.get_pending_inbound_htlcs()).toString(),
        pending_outbound_htlcs_msat: sumMsat(d.get_pending_outbound_htlcs()).toString(),
        // only when both capacities stopped at 0 (both sides at or below their reserve): the monitor's
        // balance on close, whole satoshis (the driver's last resort, see harness/drivers/ldk.py)
        claimable_on_close: d.get_outbound_capacity_msat() === 0n && d.get_inbound_capacity_msat() === 0n
          ? this.claimableOnClose(d, details)
          : null,
        closed: null,
      };
    });
    const openIds = new Set(open.map((c) => c.channel_id));
    const closed = [...this.node.closed.values()]
      .filter((record) => !openIds.has(record.channel_id))
      .map((record) => ({
        channel_id: record.channel_id,
        peer_id: record.peer_id,
        funding_outpoint: record.funding_outpoint,
        funding_spend: record.funding_outpoint ? (this.node.fundingSpends.get(record.funding_outpoint) ?? null) : null,
        capacity_sat: record.capacity_sat,
        closed: { reason: record.reason, last_local_balance_msat: record.last_local_balance_msat },
      }));
    return [...open, ...closed];
  }

  /** The ChannelMonitor's ClaimableOnChannelClose of one channel: ChainMonitor.get_claimable_balances
   * has no per-channel form in LDK 0.1 (and LockedChannelMonitor has no methods in the bindings), so
   * every other open channel is passed as ignored. null unless exactly one such balance remains. */
  claimableOnClose(channel, details) {
    const others = details.filter((d) => toHex(d.get_channel_id().get_a()) !== toHex(channel.get_channel_id().get_a()));
    const onClose = this.node.chainMonitor.get_claimable_balances(others)
      .filter((b) => b instanceof ldk.Balance_ClaimableOnChannelClose);
    if (onClose.length !== 1) return null;
    return {
      amount_sat: onClose[0].amount_satoshis.toString(),
      transaction_fee_sat: onClose[0].transaction_fee_satoshis.toString(),
    };
  }

  async claimable_balances() {
    return this.node.chainMonitor.get_claimable_balances([]).map((b) => ({
      kind: b.constructor.name.replace("Balance_", ""),
      amount_sat: b.amount_satoshis?.toString() ?? null,
    }));
  }

  async create_invoice(params) {
    const amount = params.amount_msat === null || params.amount_msat === undefined
      ? ldk.Option_u64Z.constructor_none()
      : ldk.Option_u64Z.constructor_some(BigInt(params.amount_msat));
    const result = ldk.UtilMethods.constructor_create_invoice_from_channelmanager(
      this.node.channelManager,
      amount,
      params.description ?? "",
      params.expiry_s ?? 3600,
      ldk.Option_u16Z.constructor_none(),
    );
    if (!result.is_ok()) throw new NodeError("invoice_error", `create invoice: ${result.err?.constructor?.name}`);
    const paymentHash = toHex(result.res.payment_hash());
    if (params.hold) this.node.holdHashes.add(paymentHash);
    return { bolt11: result.res.to_str(), payment_hash: paymentHash };
  }

  /** Claim a held payment (create_invoice with hold: true) now that the test wants it claimed. */
  async settle_invoice(params) {
    const hash = param(params, "payment_hash", "string");
    const preimage = this.node.held.get(hash);
    if (!preimage) throw new NodeError("not_held", `no held payment with hash ${hash}`);
    this.node.held.delete(hash);
    this.node.holdHashes.delete(hash);
    this.node.channelManager.claim_funds(preimage);
    this.node.schedule();
    return {};
  }

  async pay_invoice(params) {
    const parsed = ldk.Bolt11Invoice.constructor_from_str(param(params, "bolt11", "string"));
    if (!parsed.is_ok()) throw new NodeError("bad_invoice", "cannot parse the BOLT 11 invoice");
    const prepared = ldk.UtilMethods.constructor_payment_parameters_from_invoice(parsed.res);
    if (!prepared.is_ok()) throw new NodeError("bad_invoice", "invoice without an amount (not supported)");
    const hash = prepared.res.get_a();
    const hashHex = toHex(hash);
    const outcome = new Promise((resolve) => this.node.payments.set(hashHex, { resolve }));
    const sent = this.node.channelManager.send_payment(
      hash,
      prepared.res.get_b(),
      hash, // payment_id = payment_hash: one attempt series per invoice
      prepared.res.get_c(),
      ldk.Retry.constructor_attempts(3),
    );
    if (!sent.is_ok()) {
      this.node.payments.delete(hashHex);
      throw new NodeError("send_failed", `send_payment: ${ldk.RetryableSendFailure[sent.err] ?? sent.err}`);
    }
    this.node.schedule();
    const timeoutMs = params.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    return await Promise.race([
      outcome,
      this.node.waitFor(`the outcome of payment ${hashHex}`, () => undefined, timeoutMs),
    ]);
  }

  async close_channel(params) {
    apiCheck(this.node.channelManager.close_channel(channelId(params), nodeId(params, "peer_id")), "close_channel");
    this.node.schedule();
    return {};
  }

  /**
   * Test control: keep the event loop busy for `ms` milliseconds, as a loaded machine does when it does
   * not schedule this process (timers fall due meanwhile and run back to back afterwards).
   */
  async dev_block_event_loop(params) {
    const ms = param(params, "ms", "number");
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy on purpose: nothing else of this process runs meanwhile
    }
    return { blocked_ms: ms };
  }

  async force_close(params) {
    const reason = params.reason ?? "force close requested by the harness";
    apiCheck(
      this.node.channelManager.force_close_broadcasting_latest_txn(channelId(params), nodeId(params, "peer_id"), reason),
      "force_close",
    );
    this.node.schedule();
    return {};
  }
}
