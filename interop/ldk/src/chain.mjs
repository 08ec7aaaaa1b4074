// The chain feed: blocks read from a bitcoind-compatible RPC, given to LDK through its `Confirm`
// interface (ChannelManager and ChainMonitor). Reorgs are followed by un-confirming the transactions
// LDK reported as relevant in the disconnected blocks. New blocks are awaited with the RPC's
// `waitforblockheight` long poll, not by sleeping.
import * as ldk from "lightningdevkit";
import { fromHex, internalFromRpcHex, toHex } from "./tx.mjs";

const LONG_POLL_MS = 1000;

export class ChainFeed {
  /**
   * @param rpc BitcoinRpc
   * @param listeners ldk.Confirm[]
   * @param onBlock async (blockJson, height) => void, called after LDK saw the block
   * @param log (line) => void
   */
  constructor(rpc, listeners, onBlock, log) {
    this.rpc = rpc;
    this.listeners = listeners;
    this.onBlock = onBlock;
    this.log = log;
    this.hashes = new Map(); // height -> block hash (RPC hex) of the blocks LDK has seen
    this.height = -1;
    this.running = false;
    this.queue = Promise.resolve();
  }

  /** Start from the block LDK last saw (ChannelManager.current_best_block()). */
  startFrom(height, hashRpcHex) {
    this.height = height;
    this.hashes.set(height, hashRpcHex);
  }

  /** Serialized: concurrent callers wait for the same pass. */
  sync() {
    const next = this.queue.then(() => this.syncOnce());
    this.queue = next.catch(() => undefined);
    return next;
  }

  async syncOnce() {
    const tip = await this.rpc.call("getblockcount");
    await this.unwindReorg();
    for (let h = this.height + 1; h <= tip; h++) await this.connect(h);
    return this.height;
  }

  async unwindReorg() {
    let forked = false;
    while (this.height > 0 && this.hashes.has(this.height)) {
      const current = await this.rpc.call("getblockhash", this.height);
      if (current === this.hashes.get(this.height)) break;
      this.disconnect(this.height, this.hashes.get(this.height));
      forked = true;
    }
    if (forked) {
      const hash = await this.rpc.call("getblockhash", this.height);
      const header = fromHex(await this.rpc.call("getblockheader", hash, false));
      for (const listener of this.listeners) listener.best_block_updated(header, this.height);
      this.hashes.set(this.height, hash);
    }
  }

  disconnect(height, hashRpcHex) {
    const hash = toHex(internalFromRpcHex(hashRpcHex));
    this.log(`chain: block ${height} ${hashRpcHex} disconnected`);
    for (const listener of this.listeners) {
      for (const relevant of listener.get_relevant_txids()) {
        const block = relevant.get_c();
        if (block instanceof ldk.Option_ThirtyTwoBytesZ_Some && toHex(block.some) === hash) {
          listener.transaction_unconfirmed(relevant.get_a());
        }
      }
    }
    this.hashes.delete(height);
    this.height = height - 1;
  }

  async connect(height) {
    const hash = await this.rpc.call("getblockhash", height);
    const block = await this.rpc.call("getblock", hash, 2);
    const header = fromHex(await this.rpc.call("getblockheader", hash, false));
    const txdata = block.tx.map((tx, i) => ldk.TwoTuple_usizeTransactionZ.constructor_new(i, fromHex(tx.hex)));
    for (const listener of this.listeners) listener.transactions_confirmed(header, txdata, height);
    for (const listener of this.listeners) listener.best_block_updated(header, height);
    this.hashes.set(height, hash);
    this.hashes.delete(height - 200);
    this.height = height;
    await this.onBlock(block, height);
  }

  /** Follow the chain until stop(): each pass waits (server side) for a block above ours. */
  async run(onError) {
    this.running = true;
    while (this.running) {
      try {
        await this.rpc.call("waitforblockheight", this.height + 1, LONG_POLL_MS);
        if (this.running) await this.sync();
      } catch (error) {
        if (this.running) onError(error);
        if (this.running) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  stop() {
    this.running = false;
  }
}
