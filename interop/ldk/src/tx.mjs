// Bitcoin transaction and PSBT (BIP 174) parsing: just enough to learn txids, outputs and final
// witnesses of transactions LDK builds for us. No signing or hashing primitive lives here except
// sha256d through node:crypto (the same hash as hashlib's).
import { createHash } from "node:crypto";

export class TxParseError extends Error {}

export function sha256d(data) {
  const once = createHash("sha256").update(data).digest();
  return new Uint8Array(createHash("sha256").update(once).digest());
}

export function toHex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new TxParseError(`not hex: ${String(text).slice(0, 40)}`);
  }
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** Bitcoin RPC shows hashes byte-reversed; LDK and the wire use internal order. */
export function reversedHex(bytes) {
  return toHex(Uint8Array.from(bytes).reverse());
}

export function internalFromRpcHex(text) {
  return fromHex(text).reverse();
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }
  take(n) {
    if (this.pos + n > this.bytes.length) throw new TxParseError(`truncated at ${this.pos} (+${n})`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8() {
    return this.take(1)[0];
  }
  u32() {
    return Buffer.from(this.take(4)).readUInt32LE(0);
  }
  u64() {
    return Buffer.from(this.take(8)).readBigUInt64LE(0);
  }
  varint() {
    const first = this.u8();
    if (first < 0xfd) return first;
    if (first === 0xfd) return Buffer.from(this.take(2)).readUInt16LE(0);
    if (first === 0xfe) return this.u32();
    return Number(this.u64());
  }
  varbytes() {
    return this.take(this.varint());
  }
  get done() {
    return this.pos >= this.bytes.length;
  }
}

function varint(n) {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >> 8);
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return new Uint8Array(b);
}

function concat(parts) {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

/** Parse a serialized transaction (with or without BIP 144 witness). */
export function parseTx(bytes) {
  const r = new Reader(bytes);
  const version = r.u32();
  let segwit = false;
  let inputCount = r.varint();
  if (inputCount === 0) {
    const flag = r.u8();
    if (flag !== 1) throw new TxParseError(`bad segwit flag ${flag}`);
    segwit = true;
    inputCount = r.varint();
  }
  const inputs = [];
  for (let i = 0; i < inputCount; i++) {
    const txid = Uint8Array.from(r.take(32));
    const vout = r.u32();
    const scriptSig = Uint8Array.from(r.varbytes());
    const sequence = r.u32();
    inputs.push({ txid, vout, scriptSig, sequence });
  }
  const outputs = [];
  const outputCount = r.varint();
  for (let i = 0; i < outputCount; i++) {
    const value = r.u64();
    const script = Uint8Array.from(r.varbytes());
    outputs.push({ value, script });
  }
  const witnesses = inputs.map(() => []);
  if (segwit) {
    for (let i = 0; i < inputCount; i++) {
      const items = r.varint();
      for (let j = 0; j < items; j++) witnesses[i].push(Uint8Array.from(r.varbytes()));
    }
  }
  const locktime = r.u32();
  if (!r.done) throw new TxParseError(`${bytes.length - r.pos} trailing bytes after the transaction`);
  return { version, inputs, outputs, witnesses, locktime };
}

function u32le(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function u64le(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n), 0);
  return b;
}

export function serializeTx(tx, withWitness = true) {
  const hasWitness = withWitness && tx.witnesses.some((w) => w.length > 0);
  const parts = [u32le(tx.version)];
  if (hasWitness) parts.push(Uint8Array.of(0, 1));
  parts.push(varint(tx.inputs.length));
  for (const input of tx.inputs) {
    parts.push(input.txid, u32le(input.vout), varint(input.scriptSig.length), input.scriptSig, u32le(input.sequence));
  }
  parts.push(varint(tx.outputs.length));
  for (const output of tx.outputs) parts.push(u64le(output.value), varint(output.script.length), output.script);
  if (hasWitness) {
    for (const items of tx.witnesses) {
      parts.push(varint(items.length));
      for (const item of items) parts.push(varint(item.length), item);
    }
  }
  parts.push(u32le(tx.locktime));
  return concat(parts);
}

/** txid in internal byte order. */
export function txidOf(tx) {
  return sha256d(serializeTx(tx, false));
}

const PSBT_MAGIC = Uint8Array.of(0x70, 0x73, 0x62, 0x74, 0xff);
const PSBT_GLOBAL_UNSIGNED_TX = 0x00;
const PSBT_IN_FINAL_SCRIPTSIG = 0x07;
const PSBT_IN_FINAL_SCRIPTWITNESS = 0x08;

function readMap(r) {
  const entries = [];
  for (;;) {
    const key = r.varbytes();
    if (key.length === 0) return entries;
    entries.push({ type: key[0], key: Uint8Array.from(key), value: Uint8Array.from(r.varbytes()) });
  }
}

/** BIP 174: the unsigned transaction of a PSBT. */
export function psbtUnsignedTx(psbt) {
  const r = new Reader(psbt);
  if (!Buffer.from(r.take(5)).equals(Buffer.from(PSBT_MAGIC))) throw new TxParseError("not a PSBT (magic)");
  const global = readMap(r);
  const entry = global.find((e) => e.type === PSBT_GLOBAL_UNSIGNED_TX);
  if (!entry) throw new TxParseError("PSBT without an unsigned transaction");
  return { reader: r, tx: parseTx(entry.value) };
}

/** BIP 174 extractor: the transaction with each input's final scriptSig / witness (empty if none). */
export function psbtExtract(psbt) {
  const { reader, tx } = psbtUnsignedTx(psbt);
  tx.inputs.forEach((input, i) => {
    for (const entry of readMap(reader)) {
      if (entry.type === PSBT_IN_FINAL_SCRIPTSIG) input.scriptSig = entry.value;
      if (entry.type === PSBT_IN_FINAL_SCRIPTWITNESS) {
        const w = new Reader(entry.value);
        const count = w.varint();
        tx.witnesses[i] = Array.from({ length: count }, () => Uint8Array.from(w.varbytes()));
      }
    }
  });
  return tx;
}
