// The LDK objects of one node and their glue: fee estimator, broadcaster, logger, persistence
// (ChannelManager + ChannelMonitors as files, so a restart recovers), chain feed, peer manager
// (lightningdevkit-node-net) and the event handler.
import * as fs from "node:fs";
import * as ldk from "lightningdevkit";
import { NodeLDKNet } from "lightningdevkit-node-net";
import { ChainFeed } from "./chain.mjs";
import { fromHex, internalFromRpcHex, parseTx, reversedHex, toHex, txidOf } from "./tx.mjs";
import { Wallet, WalletError } from "./wallet.mjs";

const MIN_FEERATE_PER_KW = 253; // BOLT 3 / Bitcoin Core minimum relay: 1 sat/vB, rounded up for weight
const FEE_TARGET_BLOCKS = 6;
// LDK's PeerManager.timer_tick_occurred docs: "roughly once every ten seconds is preferred. The call rate
// determines both how often we send a ping to our peers and how much time they have to respond before we
// disconnect them."
export const DEFAULT_TIMER_TICK_MS = 10_000;
// LDK logs every lost connection (at Trace level, lightning/src/ln/peer_handler.rs): "Disconnecting peer
// with id <id> due to <reason>" / "Disconnecting peer which hasn't completed handshake due to <reason>" when
// it drops the peer, "Handling disconnection of peer <id> because <reason>" when a read failed ("of a
// protocol error": LDK closes) or the socket closed ("the socket was disconnected": the peer or the OS).
const DISCONNECT_LOG = /^Disconnecting peer (?:with id ([0-9a-f]{66})|which hasn't completed handshake) due to (.*)$/;
const DISCONNECTION_LOG = /^Handling disconnection of peer ([0-9a-f]{66}) because (.*)$/;
const SOCKET_CLOSED = "the socket was disconnected";

function disconnectEvent(text) {
  const dropped = DISCONNECT_LOG.exec(text);
  if (dropped) return { event: "peer_disconnected", peer_id: dropped[1] ?? null, reason: dropped[2], by: "ldk" };
  const handled = DISCONNECTION_LOG.exec(text);
  if (!handled) return null;
  const by = handled[2] === SOCKET_CLOSED ? "socket" : "ldk";
  return { event: "peer_disconnected", peer_id: handled[1], reason: handled[2], by };
}
const COMPLETED = ldk.ChannelMonitorUpdateStatus.LDKChannelMonitorUpdateStatus_Completed;
const LEVELS = ["Gossip", "Trace", "Debug", "Info", "Warn", "Error"];

export class NodeError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function monitorKey(outpoint) {
  return `${reversedHex(outpoint.get_txid())}_${outpoint.get_index()}`;
}

export function optionValue(option) {
  return option && "some" in option ? option.some : null;
}

export class LdkNode {
  constructor({ dataDir, store, rpc, emit, logLevel, anchors, maxDustExposureMsat, timerTickMs }) {
    this.maxDustExposureMsat = maxDustExposureMsat;
    this.timerTickMs = timerTickMs ?? DEFAULT_TIMER_TICK_MS;
    this.dataDir = dataDir;
    this.store = store;
    this.rpc = rpc;
    this.emit = emit;
    this.anchors = anchors;
    this.feeratePerKw = MIN_FEERATE_PER_KW;
    this.waiters = new Set();
    this.closed = new Map(Object.entries(store.readJson("closed.json") ?? {}));
    this.fundingSpends = new Map(Object.entries(store.readJson("funding_spends.json") ?? {}));
    this.pendingSweeps = (store.readJson("sweeps.json") ?? []).map((hex) => fromHex(hex));
    this.payments = new Map(); // payment_hash hex -> { resolve }
    this.holdHashes = new Set(); // invoices whose HTLCs are held until settle_invoice (payment_hash hex)
    this.held = new Map(); // payment_hash hex -> preimage of a held, claimable payment
    this.broadcastQueue = Promise.resolve();
    this.processing = false;
    this.processAgain = false;
    this.logStream = fs.createWriteStream(store.path("ldk.log"), { flags: "a" });
    const minLevel = LEVELS.indexOf(logLevel);
    this.logger = ldk.Logger.new_impl({
      log: (record) => {
        const level = ldk.Level[record.get_level()]?.replace("LDKLevel_", "") ?? "?";
        const text = record.get_args();
        if (LEVELS.indexOf(level) >= minLevel) this.log(`${level} ${record.get_module_path()}: ${text}`);
        // the harness sees every lost connection, with LDK's reason, whatever the log level
        const disconnect = disconnectEvent(text);
        if (disconnect) this.emit(disconnect);
      },
    });
  }

  log(line) {
    this.logStream.write(`${new Date().toISOString()} ${line}\n`);
  }

  async start(listenPort) {
    const seed = this.loadSeed();
    const nowMs = Date.now();
    this.keysManager = ldk.KeysManager.constructor_new(seed, BigInt(Math.floor(nowMs / 1000)), (nowMs % 1000) * 1_000_000);
    this.wallet = new Wallet(this.keysManager, this.store, (l) => this.log(l));
    await this.refreshFeerate();
    this.feeEstimator = ldk.FeeEstimator.new_impl({ get_est_sat_per_1000_weight: () => this.feeratePerKw });
    this.broadcaster = ldk.BroadcasterInterface.new_impl({
      // A batch is a package (commitment then its anchor child): sent in order, one after the other.
      broadcast_transactions: (txs) => {
        this.broadcastQueue = txs.reduce((queue, tx) => queue.then(() => this.broadcast(tx)), this.broadcastQueue);
      },
    });
    const persister = ldk.Persist.new_impl({
      persist_new_channel: (outpoint, monitor) => this.persistMonitor(outpoint, monitor),
      update_persisted_channel: (outpoint, _update, monitor) => this.persistMonitor(outpoint, monitor),
      archive_persisted_channel: (outpoint) => this.archiveMonitor(outpoint),
    });
    this.chainMonitor = ldk.ChainMonitor.constructor_new(
      ldk.Option_FilterZ.constructor_none(),
      this.broadcaster,
      this.logger,
      this.feeEstimator,
      persister,
    );
    this.networkGraph = ldk.NetworkGraph.constructor_new(ldk.Network.LDKNetwork_Regtest, this.logger);
    const scorer = ldk.ProbabilisticScorer.constructor_new(
      ldk.ProbabilisticScoringDecayParameters.constructor_default(),
      this.networkGraph,
      this.logger,
    );
    const lockableScore = ldk.MultiThreadedLockableScore.constructor_new(scorer.as_Score());
    this.router = ldk.DefaultRouter.constructor_new(
      this.networkGraph,
      this.logger,
      this.keysManager.as_EntropySource(),
      lockableScore.as_LockableScore(),
      ldk.ProbabilisticScoringFeeParameters.constructor_default(),
    );
    this.messageRouter = ldk.DefaultMessageRouter.constructor_new(this.networkGraph, this.keysManager.as_EntropySource());
    // Node-wide: anchors supported (so init advertises option_anchors and inbound anchor channels are
    // possible); the type of a channel we open is chosen per channel (open_channel's override config).
    this.config = this.userConfig(true, true);
    await this.loadOrCreateChannelManager();
    this.bumpHandler = ldk.BumpTransactionEventHandler.constructor_new(
      this.broadcaster,
      ldk.Wallet.constructor_new(this.wallet.walletSource(), this.logger).as_CoinSelectionSource(),
      this.keysManager.as_SignerProvider(),
      this.logger,
    );
    const ignorer = ldk.IgnoringMessageHandler.constructor_new();
    // A gossip participant (BOLT 7, gossip_queries): Electrum, for one, requires gossip_queries of its peers.
    this.gossipSync = ldk.P2PGossipSync.constructor_new(this.networkGraph, ldk.Option_UtxoLookupZ.constructor_none(), this.logger);
    this.peerManager = ldk.PeerManager.constructor_new(
      this.channelManager.as_ChannelMessageHandler(),
      this.gossipSync.as_RoutingMessageHandler(),
      ignorer.as_OnionMessageHandler(),
      ignorer.as_CustomMessageHandler(),
      Math.floor(Date.now() / 1000),
      this.keysManager.as_EntropySource().get_secure_random_bytes(),
      this.logger,
      this.keysManager.as_NodeSigner(),
    );
    this.net = new NodeLDKNet(this.peerManager);
    this.stopNetTimer();
    await this.net.bind_listener("127.0.0.1", listenPort);
    this.port = this.net.servers[0].address().port;

    const best = this.channelManager.current_best_block();
    this.chain = new ChainFeed(
      this.rpc,
      [this.channelManager.as_Confirm(), this.chainMonitor.as_Confirm()],
      (block, height) => this.onBlock(block, height),
      (l) => this.log(l),
    );
    this.chain.startFrom(best.get_height(), reversedHex(best.get_block_hash()));
    await this.chain.sync();
    this.chainLoop = this.chain.run((error) => this.log(`chain feed: ${error.stack ?? error}`));
    this.listenForWork();
    this.timer = setInterval(() => this.timerTick(), this.timerTickMs);
    this.schedule();
  }

  /**
   * The one timer of this node: ChannelManager and PeerManager ticks (pings, and disconnecting a peer that
   * did not answer the last one), then the queued messages are sent.
   */
  timerTick() {
    this.channelManager.timer_tick_occurred();
    this.peerManager.timer_tick_occurred();
    this.schedule();
  }

  /**
   * NodeLDKNet (lightningdevkit-node-net 0.1.0) starts its own 10 s timer calling
   * PeerManager.timer_tick_occurred; with ours that made two unsynchronized tick sources. LDK disconnects
   * a peer that sent nothing between two ticks after a ping, so a peer had only the offset between the
   * two timers to answer (milliseconds: the time start() takes between them), and none at all when a
   * starved event loop ran both overdue timers back to back: a loaded peer (or one of ours behind a
   * busy Python loop) was dropped "due to ping/handshake timeout". Only timerTick() ticks the PeerManager.
   */
  stopNetTimer() {
    if (this.net.ping_timer === undefined) {
      throw new NodeError("unsupported_net", "NodeLDKNet has no ping_timer: check lightningdevkit-node-net's version (0.1.0 pinned)");
    }
    clearInterval(this.net.ping_timer);
    this.net.ping_timer = undefined;
  }

  loadSeed() {
    let seed = this.store.read("seed");
    if (seed === null) {
      seed = this.keySeedFromEnv() ?? new Uint8Array(this.cryptoRandom(32));
      this.store.write("seed", seed);
    }
    if (seed.length !== 32) throw new NodeError("bad_seed", "the seed file must hold 32 bytes");
    return seed;
  }

  keySeedFromEnv() {
    // The driver derives the seed from the scenario seed and passes it once through the environment
    // (never on the command line, never logged).
    const hex = process.env.BOLTCHECK_LDK_SEED;
    return hex ? fromHex(hex) : null;
  }

  cryptoRandom(n) {
    return globalThis.crypto.getRandomValues(new Uint8Array(n));
  }

  userConfig(anchors, announce) {
    const config = ldk.UserConfig.constructor_default();
    const handshake = config.get_channel_handshake_config();
    handshake.set_negotiate_anchors_zero_fee_htlc_tx(anchors);
    handshake.set_announce_for_forwarding(announce);
    handshake.set_minimum_depth(1);
    config.set_channel_handshake_config(handshake);
    // LDK refuses by default an inbound channel whose announce bit differs from its own preference;
    // BOLT 2 leaves announcing to the opener (Electrum opens unannounced channels).
    const limits = config.get_channel_handshake_limits();
    limits.set_force_announced_channel_preference(false);
    config.set_channel_handshake_limits(limits);
    if (this.maxDustExposureMsat !== null) {
      // LDK counts a peer's commitment fee above its own estimate as dust exposure and fails the channel
      // on such an update_fee (BOLT 2 allows it); a test whose peer insists on a high regtest feerate
      // (Electrum: 45000 sat/kw) sets a fixed limit instead.
      const channelConfig = config.get_channel_config();
      channelConfig.set_max_dust_htlc_exposure(ldk.MaxDustHTLCExposure.constructor_fixed_limit_msat(this.maxDustExposureMsat));
      config.set_channel_config(channelConfig);
    }
    // Inbound channels are accepted by hand (OpenChannelRequest): LDK requires it for anchor channels,
    // whose fee bumps need a reserve in our wallet.
    config.set_manually_accept_inbound_channels(true);
    return config;
  }

  async loadOrCreateChannelManager() {
    const monitors = [];
    for (const file of this.store.list("monitors")) {
      const read = ldk.UtilMethods.constructor_C2Tuple_ThirtyTwoBytesChannelMonitorZ_read(
        this.store.read(`monitors/${file}`),
        this.keysManager.as_EntropySource(),
        this.keysManager.as_SignerProvider(),
      );
      if (!read.is_ok()) throw new NodeError("corrupt_store", `cannot read monitor ${file}`);
      monitors.push(read.res.get_b());
    }
    const saved = this.store.read("manager.bin");
    if (saved !== null) {
      const read = ldk.UtilMethods.constructor_C2Tuple_ThirtyTwoBytesChannelManagerZ_read(
        saved,
        this.keysManager.as_EntropySource(),
        this.keysManager.as_NodeSigner(),
        this.keysManager.as_SignerProvider(),
        this.feeEstimator,
        this.chainMonitor.as_Watch(),
        this.broadcaster,
        this.router.as_Router(),
        this.messageRouter.as_MessageRouter(),
        this.logger,
        this.config,
        monitors,
      );
      if (!read.is_ok()) throw new NodeError("corrupt_store", "cannot read manager.bin");
      this.channelManager = read.res.get_b();
      for (const monitor of monitors) {
        const watched = this.chainMonitor.as_Watch().watch_channel(monitor.get_funding_txo().get_a(), monitor);
        if (!watched.is_ok()) throw new NodeError("corrupt_store", "ChainMonitor refused a stored monitor");
      }
      this.log(`restored: ${monitors.length} channel monitor(s)`);
      return;
    }
    if (monitors.length > 0) throw new NodeError("corrupt_store", "monitors without manager.bin");
    const hash = await this.rpc.call("getbestblockhash");
    const height = await this.rpc.call("getblockcount");
    const params = ldk.ChainParameters.constructor_new(
      ldk.Network.LDKNetwork_Regtest,
      ldk.BestBlock.constructor_new(internalFromRpcHex(hash), height),
    );
    this.channelManager = ldk.ChannelManager.constructor_new(
      this.feeEstimator,
      this.chainMonitor.as_Watch(),
      this.broadcaster,
      this.router.as_Router(),
      this.messageRouter.as_MessageRouter(),
      this.logger,
      this.keysManager.as_EntropySource(),
      this.keysManager.as_NodeSigner(),
      this.keysManager.as_SignerProvider(),
      this.config,
      params,
      Math.floor(Date.now() / 1000),
    );
    this.persistManager();
  }

  persistMonitor(outpoint, monitor) {
    this.store.write(`monitors/${monitorKey(outpoint)}.bin`, monitor.write());
    return COMPLETED;
  }

  archiveMonitor(outpoint) {
    const name = `monitors/${monitorKey(outpoint)}.bin`;
    fs.mkdirSync(this.store.path("archive"), { recursive: true });
    if (fs.existsSync(this.store.path(name))) fs.renameSync(this.store.path(name), this.store.path(`archive/${monitorKey(outpoint)}.bin`));
  }

  persistManager() {
    this.store.write("manager.bin", this.channelManager.write());
  }

  async refreshFeerate() {
    // Deterministic on the embedded chain: both peers read the same estimate (sat/kvB -> sat/kw).
    const estimate = await this.rpc.call("estimatesmartfee", FEE_TARGET_BLOCKS);
    if (typeof estimate.feerate === "number") {
      this.feeratePerKw = Math.max(MIN_FEERATE_PER_KW, Math.ceil((estimate.feerate * 1e8) / 4));
    }
  }

  broadcast(tx) {
    const hex = toHex(tx);
    const txid = reversedHex(txidOf(parseTx(tx)));
    return this.rpc.call("sendrawtransaction", hex).then(
      () => this.emit({ event: "broadcast", txid, accepted: true }),
      (error) => {
        this.log(`broadcast refused: ${error.message} ${hex}`);
        this.emit({ event: "broadcast", txid, accepted: false, error: error.message });
      },
    );
  }

  async onBlock(block, height) {
    this.wallet.onBlock(block);
    this.recordFundingSpends(block, height);
    await this.refreshFeerate();
    this.retrySweeps();
    this.emit({ event: "block", height, hash: block.hash });
    this.schedule();
  }

  knownFundingOutpoints() {
    const outpoints = new Set();
    for (const details of this.channelManager.list_channels()) {
      const txo = details.get_funding_txo();
      if (txo) outpoints.add(`${reversedHex(txo.get_txid())}:${txo.get_index()}`);
    }
    for (const record of this.closed.values()) if (record.funding_outpoint) outpoints.add(record.funding_outpoint);
    return outpoints;
  }

  recordFundingSpends(block, height) {
    const watched = this.knownFundingOutpoints();
    let changed = false;
    for (const tx of block.tx) {
      for (const input of tx.vin) {
        const key = `${input.txid}:${input.vout}`;
        if (input.txid !== undefined && watched.has(key)) {
          this.fundingSpends.set(key, { txid: tx.txid, height });
          changed = true;
        }
      }
    }
    if (changed) this.store.writeJson("funding_spends.json", Object.fromEntries(this.fundingSpends));
  }

  retrySweeps() {
    if (this.pendingSweeps.length === 0) return;
    const descriptors = this.pendingSweeps.map((bytes) => ldk.SpendableOutputDescriptor.constructor_read(bytes).res);
    try {
      const tx = this.wallet.sweep(descriptors, this.feeratePerKw);
      this.broadcastSweep(tx);
    } catch (error) {
      this.log(`sweep not possible yet: ${error.message}`);
    }
  }

  broadcastSweep(tx) {
    const hex = toHex(tx);
    this.rpc.call("sendrawtransaction", hex).then(
      (txid) => {
        this.wallet.recordOwnSpend(tx);
        this.pendingSweeps = [];
        this.store.writeJson("sweeps.json", []);
        this.emit({ event: "sweep", txid });
      },
      // e.g. non-BIP68-final before to_self_delay: kept and retried on the next block
      (error) => this.log(`sweep refused for now: ${error.message}`),
    );
  }

  /** Wake up whenever LDK has events or needs persisting, and after chain-monitor updates. */
  listenForWork() {
    const arm = (future) =>
      future.register_callback_fn(
        ldk.FutureCallback.new_impl({
          call: () => {
            this.schedule();
            setImmediate(() => arm(future === this.cmFuture ? this.nextCmFuture() : this.nextMonitorFuture()));
          },
        }),
      );
    arm(this.nextCmFuture());
    arm(this.nextMonitorFuture());
  }

  nextCmFuture() {
    this.cmFuture = this.channelManager.get_event_or_persistence_needed_future();
    return this.cmFuture;
  }

  nextMonitorFuture() {
    this.monitorFuture = this.chainMonitor.get_update_future();
    return this.monitorFuture;
  }

  schedule() {
    if (this.stopped) return;
    if (this.processing) {
      this.processAgain = true;
      return;
    }
    this.processing = true;
    setImmediate(() => {
      try {
        do {
          this.processAgain = false;
          this.processOnce();
        } while (this.processAgain);
      } finally {
        this.processing = false;
      }
    });
  }

  processOnce() {
    const handler = ldk.EventHandler.new_impl({
      handle_event: (event) => {
        try {
          this.handleEvent(event);
        } catch (error) {
          this.log(`event handler: ${error.stack ?? error}`);
          this.emit({ event: "handler_error", error: String(error.message ?? error) });
        }
        return ldk.Result_NoneReplayEventZ.constructor_ok();
      },
    });
    this.channelManager.as_EventsProvider().process_pending_events(handler);
    this.chainMonitor.as_EventsProvider().process_pending_events(handler);
    if (this.channelManager.get_and_clear_needs_persistence()) this.persistManager();
    this.peerManager.process_events();
    for (const waiter of [...this.waiters]) waiter.check();
  }

  /** Resolve when predicate() returns a value other than undefined; checked after every processing pass. */
  waitFor(what, predicate, timeoutMs) {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          let value;
          try {
            value = predicate();
          } catch (error) {
            this.waiters.delete(waiter);
            clearTimeout(waiter.timer);
            reject(error);
            return;
          }
          if (value !== undefined) {
            this.waiters.delete(waiter);
            clearTimeout(waiter.timer);
            resolve(value);
          }
        },
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new NodeError("timeout", `timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  handleEvent(event) {
    if (event instanceof ldk.Event_FundingGenerationReady) {
      let tx;
      try {
        tx = this.wallet.buildFunding(event.output_script, event.channel_value_satoshis, this.feeratePerKw);
      } catch (error) {
        if (!(error instanceof WalletError)) throw error;
        this.channelManager.force_close_without_broadcasting_txn(event.temporary_channel_id, event.counterparty_node_id, error.message);
        this.emit({ event: "funding_failed", temporary_channel_id: toHex(event.temporary_channel_id.get_a()), error: error.message });
        return;
      }
      const result = this.channelManager.funding_transaction_generated(event.temporary_channel_id, event.counterparty_node_id, tx);
      if (!result.is_ok()) this.emit({ event: "funding_failed", temporary_channel_id: toHex(event.temporary_channel_id.get_a()), error: "funding_transaction_generated refused" });
    } else if (event instanceof ldk.Event_OpenChannelRequest) {
      const result = this.channelManager.accept_inbound_channel(event.temporary_channel_id, event.counterparty_node_id, this.randomU64());
      this.emit({
        event: "open_channel_request",
        peer_id: toHex(event.counterparty_node_id),
        funding_sat: event.funding_satoshis.toString(),
        channel_type: channelTypeName(event.channel_type),
        accepted: Boolean(result.is_ok()),
      });
    } else if (event instanceof ldk.Event_ChannelPending) {
      this.emit({
        event: "channel_pending",
        channel_id: toHex(event.channel_id.get_a()),
        temporary_channel_id: toHex(event.former_temporary_channel_id.get_a()),
        peer_id: toHex(event.counterparty_node_id),
        funding_txid: reversedHex(event.funding_txo.get_txid()),
        funding_vout: event.funding_txo.get_index(),
        channel_type: channelTypeName(event.channel_type),
      });
    } else if (event instanceof ldk.Event_ChannelReady) {
      this.emit({ event: "channel_ready", channel_id: toHex(event.channel_id.get_a()) });
    } else if (event instanceof ldk.Event_ChannelClosed) {
      const txo = event.channel_funding_txo;
      const record = {
        channel_id: toHex(event.channel_id.get_a()),
        peer_id: toHex(event.counterparty_node_id),
        reason: event.reason.constructor.name.replace("ClosureReason_", ""),
        capacity_sat: (optionValue(event.channel_capacity_sats) ?? 0n).toString(),
        last_local_balance_msat: (optionValue(event.last_local_balance_msat) ?? 0n).toString(),
        funding_outpoint: txo ? `${reversedHex(txo.get_txid())}:${txo.get_index()}` : null,
      };
      this.closed.set(record.channel_id, record);
      this.store.writeJson("closed.json", Object.fromEntries(this.closed));
      this.emit({ event: "channel_closed", ...record });
    } else if (event instanceof ldk.Event_PaymentClaimable) {
      const preimage = optionValue(event.purpose.payment_preimage);
      const hash = toHex(event.payment_hash);
      const hold = preimage !== null && this.holdHashes.has(hash);
      if (hold) this.held.set(hash, preimage);
      else if (preimage) this.channelManager.claim_funds(preimage);
      else this.channelManager.fail_htlc_backwards(event.payment_hash);
      this.emit({ event: "payment_claimable", payment_hash: hash, amount_msat: event.amount_msat.toString(), held: hold });
    } else if (event instanceof ldk.Event_PaymentClaimed) {
      this.emit({ event: "payment_claimed", payment_hash: toHex(event.payment_hash), amount_msat: event.amount_msat.toString() });
    } else if (event instanceof ldk.Event_PaymentSent) {
      const hash = toHex(event.payment_hash);
      this.emit({ event: "payment_sent", payment_hash: hash });
      this.settlePayment(hash, { status: "succeeded", preimage: toHex(event.payment_preimage) });
    } else if (event instanceof ldk.Event_PaymentFailed) {
      const hash = toHex(event.payment_id);
      const reason = optionValue(event.reason);
      const failure = reason === null ? "unknown" : ldk.PaymentFailureReason[reason];
      this.emit({ event: "payment_failed", payment_hash: hash, failure });
      this.settlePayment(hash, { status: "failed", failure });
    } else if (event instanceof ldk.Event_PendingHTLCsForwardable) {
      setImmediate(() => {
        this.channelManager.process_pending_htlc_forwards();
        this.schedule();
      });
    } else if (event instanceof ldk.Event_SpendableOutputs) {
      // A StaticOutput already paying our wallet script (e.g. a justice claim) is a wallet coin: the
      // wallet sees it in its block; sweeping it again would only burn a fee.
      for (const descriptor of event.outputs) {
        const ours = descriptor instanceof ldk.SpendableOutputDescriptor_StaticOutput && toHex(descriptor.output.script_pubkey) === this.wallet.scriptHex;
        if (!ours) this.pendingSweeps.push(descriptor.write());
      }
      this.store.writeJson("sweeps.json", this.pendingSweeps.map((b) => toHex(b)));
      this.emit({ event: "spendable_outputs", count: event.outputs.length });
      this.retrySweeps();
    } else if (event instanceof ldk.Event_BumpTransaction) {
      this.bumpHandler.handle_event(event.bump_transaction);
      this.emit({ event: "bump_transaction", kind: event.bump_transaction.constructor.name.replace("BumpTransactionEvent_", "") });
    } else {
      this.emit({ event: "ldk_event", kind: event.constructor.name.replace("Event_", "") });
    }
  }

  settlePayment(hashHex, outcome) {
    const pending = this.payments.get(hashHex);
    if (pending) {
      this.payments.delete(hashHex);
      pending.resolve({ payment_hash: hashHex, ...outcome });
    }
  }

  randomU64() {
    return Buffer.from(this.cryptoRandom(8)).readBigUInt64LE(0);
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.chain.stop();
    this.net.stop();
    this.persistManager();
    await this.chainLoop;
    await new Promise((resolve) => this.logStream.end(resolve));
  }
}

export function channelTypeName(features) {
  if (!features) return null;
  if (features.supports_anchors_zero_fee_htlc_tx()) return "anchors_zero_fee_htlc_tx";
  if (features.supports_static_remote_key()) return "static_remotekey";
  return "legacy";
}
