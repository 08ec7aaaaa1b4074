// LDK has no wallet: this one holds the P2WPKH outputs paying KeysManager's destination script (the
// harness funds its address from the chain's faucet). KeysManager signs them as `StaticOutput`
// descriptors, so all signing stays inside LDK. Funding transactions, sweeps and anchor/HTLC fee
// bumps (BumpTransactionEventHandler's WalletSource) all come from here.
import * as ldk from "lightningdevkit";
import { internalFromRpcHex, parseTx, psbtExtract, psbtUnsignedTx, reversedHex, serializeTx, toHex, txidOf } from "./tx.mjs";

export class WalletError extends Error {}

// P2WPKH spend: empty scriptSig (1 byte * 4) + witness count, 73-byte signature, 33-byte key (BIP 141).
const P2WPKH_SATISFACTION_WEIGHT = 4n + 1n + 1n + 73n + 1n + 33n;
const NO_CHANNEL_KEYS_ID = new Uint8Array(32);
const UTXO_FILE = "utxos.json";

export class Wallet {
  constructor(keysManager, store, log) {
    this.keysManager = keysManager;
    this.store = store;
    this.log = log;
    const script = keysManager.as_SignerProvider().get_destination_script(NO_CHANNEL_KEYS_ID);
    if (!(script instanceof ldk.Result_CVec_u8ZNoneZ_OK)) throw new WalletError("KeysManager has no destination script");
    this.script = script.res;
    this.scriptHex = toHex(this.script);
    // key "txid:vout" (RPC hex) -> { txid, vout, value_sat (string), confirmed, spent_by }
    this.utxos = new Map(Object.entries(store.readJson(UTXO_FILE) ?? {}));
  }

  save() {
    this.store.writeJson(UTXO_FILE, Object.fromEntries(this.utxos));
  }

  /** Called for each connected block (getblock verbosity 2). */
  onBlock(block) {
    let changed = false;
    for (const tx of block.tx) {
      for (const input of tx.vin) {
        if (input.txid === undefined) continue;
        const key = `${input.txid}:${input.vout}`;
        if (this.utxos.has(key)) {
          this.utxos.delete(key);
          changed = true;
        }
      }
      for (const output of tx.vout) {
        if (output.scriptPubKey.hex !== this.scriptHex) continue;
        const key = `${tx.txid}:${output.n}`;
        const value_sat = BigInt(Math.round(output.value * 1e8)).toString();
        this.utxos.set(key, { txid: tx.txid, vout: output.n, value_sat, confirmed: true, reserved: false });
        changed = true;
      }
    }
    if (changed) this.save();
  }

  balances() {
    let confirmed = 0n;
    let unconfirmed = 0n;
    for (const utxo of this.utxos.values()) {
      if (utxo.reserved) continue;
      if (utxo.confirmed) confirmed += BigInt(utxo.value_sat);
      else unconfirmed += BigInt(utxo.value_sat);
    }
    return { confirmed_sat: confirmed.toString(), unconfirmed_sat: unconfirmed.toString() };
  }

  static outpointOf(utxo) {
    return ldk.OutPoint.constructor_new(internalFromRpcHex(utxo.txid), utxo.vout);
  }

  descriptorOf(utxo) {
    const output = ldk.TxOut.constructor_new(BigInt(utxo.value_sat), this.script);
    return ldk.SpendableOutputDescriptor.constructor_static_output(Wallet.outpointOf(utxo), output, NO_CHANNEL_KEYS_ID);
  }

  spendable() {
    return [...this.utxos.values()].filter((u) => !u.reserved);
  }

  /** Mark our inputs of `txBytes` as spent and add its outputs to us as unconfirmed coins. */
  recordOwnSpend(txBytes) {
    const tx = parseTx(txBytes);
    const txid = reversedHex(txidOf(tx));
    for (const input of tx.inputs) {
      const key = `${reversedHex(input.txid)}:${input.vout}`;
      const utxo = this.utxos.get(key);
      if (utxo) utxo.reserved = true;
    }
    tx.outputs.forEach((output, vout) => {
      if (toHex(output.script) === this.scriptHex) {
        this.utxos.set(`${txid}:${vout}`, { txid, vout, value_sat: output.value.toString(), confirmed: false, reserved: false });
      }
    });
    this.save();
    return txid;
  }

  /** The funding transaction (BOLT 2 funding_created): one output to `outputScript`, change to us. */
  buildFunding(outputScript, valueSat, feeratePerKw) {
    const coins = this.spendable();
    if (coins.length === 0) throw new WalletError("no coins to fund the channel: fund new_address first");
    const outputs = [ldk.TxOut.constructor_new(BigInt(valueSat), outputScript)];
    return this.spend(coins.map((c) => this.descriptorOf(c)), outputs, feeratePerKw, "funding");
  }

  /** Sweep LDK's SpendableOutputs to our destination script (recorded once the chain accepts it). */
  sweep(descriptors, feeratePerKw) {
    return this.spend(descriptors, [], feeratePerKw, "sweep", false);
  }

  spend(descriptors, outputs, feeratePerKw, what, record = true) {
    const result = this.keysManager
      .as_OutputSpender()
      .spend_spendable_outputs(descriptors, outputs, this.script, feeratePerKw, ldk.Option_u32Z.constructor_none());
    if (!(result instanceof ldk.Result_TransactionNoneZ_OK)) {
      throw new WalletError(`${what}: KeysManager could not build the transaction (insufficient funds or not yet spendable)`);
    }
    if (record) this.recordOwnSpend(result.res);
    return result.res;
  }

  /** For BumpTransactionEventHandler (anchor commitments and anchor HTLC transactions). */
  walletSource() {
    return ldk.WalletSource.new_impl({
      list_confirmed_utxos: () => {
        const utxos = this.spendable()
          .filter((u) => u.confirmed)
          .map((u) =>
            ldk.Utxo.constructor_new(
              Wallet.outpointOf(u),
              ldk.TxOut.constructor_new(BigInt(u.value_sat), this.script),
              P2WPKH_SATISFACTION_WEIGHT,
            ),
          );
        return ldk.Result_CVec_UtxoZNoneZ.constructor_ok(utxos);
      },
      get_change_script: () => ldk.Result_CVec_u8ZNoneZ.constructor_ok(this.script),
      sign_psbt: (psbt) => {
        try {
          const unsigned = psbtUnsignedTx(psbt).tx;
          const ours = unsigned.inputs
            .map((input) => this.utxos.get(`${reversedHex(input.txid)}:${input.vout}`))
            .filter((u) => u !== undefined);
          const signed = this.keysManager.sign_spendable_outputs_psbt(ours.map((u) => this.descriptorOf(u)), psbt);
          if (!(signed instanceof ldk.Result_CVec_u8ZNoneZ_OK)) throw new WalletError("KeysManager refused to sign the PSBT");
          const tx = serializeTx(psbtExtract(signed.res));
          this.recordOwnSpend(tx);
          return ldk.Result_TransactionNoneZ.constructor_ok(tx);
        } catch (error) {
          this.log(`wallet: sign_psbt failed: ${error.stack ?? error}`);
          return ldk.Result_TransactionNoneZ.constructor_err();
        }
      },
    });
  }
}
