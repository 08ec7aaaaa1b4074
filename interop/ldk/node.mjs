#!/usr/bin/env node
// boltcheck's LDK 0.1 node: `node node.mjs --data-dir DIR --rpc-url URL --rpc-user U --rpc-password P
// [--port N] [--anchors] [--log-level Debug]`. Prints {"event":"ready",...} when it listens, then
// serves the JSON-lines command channel of src/commands.mjs on stdin/stdout.
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import * as ldk from "lightningdevkit";
import { Commands } from "./src/commands.mjs";
import { DEFAULT_TIMER_TICK_MS, LdkNode, NodeError } from "./src/ldk_node.mjs";
import { BitcoinRpc } from "./src/rpc.mjs";
import { Store } from "./src/store.mjs";

// stdout carries only the JSON-lines channel: the bindings print a banner with console.log.
console.log = (...parts) => process.stderr.write(parts.join(" ") + "\n");

function parseArgs(argv) {
  const args = { port: 0, anchors: false, logLevel: "Trace", maxDustExposureMsat: null, timerTickMs: DEFAULT_TIMER_TICK_MS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === "--data-dir") args.dataDir = value();
    else if (flag === "--rpc-url") args.rpcUrl = value();
    else if (flag === "--rpc-user") args.rpcUser = value();
    else if (flag === "--rpc-password") args.rpcPassword = value();
    else if (flag === "--rpc-cookie") [args.rpcUser, args.rpcPassword] = fs.readFileSync(value(), "utf8").trim().split(":");
    else if (flag === "--port") args.port = Number(value());
    else if (flag === "--anchors") args.anchors = true;
    else if (flag === "--log-level") args.logLevel = value();
    else if (flag === "--max-dust-htlc-exposure-msat") args.maxDustExposureMsat = BigInt(value());
    else if (flag === "--timer-tick-ms") args.timerTickMs = Number(value());
    else throw new Error(`unknown argument ${flag}`);
  }
  for (const required of ["dataDir", "rpcUrl", "rpcUser", "rpcPassword"]) {
    if (!args[required]) throw new Error(`missing --${required.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`);
  }
  return args;
}

function writeLine(object) {
  process.stdout.write(JSON.stringify(object, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const here = path.dirname(fileURLToPath(import.meta.url));
  await ldk.initializeWasmFromBinary(fs.readFileSync(path.join(here, "node_modules/lightningdevkit/liblightningjs.wasm")));
  const store = new Store(args.dataDir);
  const lastEvents = [];
  const emit = (event) => {
    lastEvents.push(event);
    if (lastEvents.length > 1000) lastEvents.shift();
    writeLine(event);
  };
  const node = new LdkNode({
    dataDir: args.dataDir,
    store,
    rpc: new BitcoinRpc(args.rpcUrl, args.rpcUser, args.rpcPassword),
    emit,
    logLevel: args.logLevel,
    anchors: args.anchors,
    maxDustExposureMsat: args.maxDustExposureMsat,
    timerTickMs: args.timerTickMs,
  });
  node.lastEvents = lastEvents;
  await node.start(args.port);
  const commands = new Commands(node);
  writeLine({ event: "ready", ...(await commands.getinfo()) });

  let stopping = false;
  const stop = async (id) => {
    if (stopping) return;
    stopping = true;
    await node.stop();
    if (id !== undefined) writeLine({ id, result: {} });
    process.exit(0);
  };
  process.on("SIGTERM", () => stop());
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("close", () => stop());
  lines.on("line", async (line) => {
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      writeLine({ id: null, error: { code: "bad_request", message: "not JSON" } });
      return;
    }
    const { id, method, params } = request;
    if (method === "stop") return stop(id);
    const handler = Object.hasOwn(Commands.prototype, method) && method !== "constructor" ? commands[method] : undefined;
    if (typeof handler !== "function") {
      writeLine({ id, error: { code: "unknown_method", message: `unknown method ${method}` } });
      return;
    }
    try {
      writeLine({ id, result: await handler.call(commands, params ?? {}) });
    } catch (error) {
      const code = error instanceof NodeError ? error.code : "internal";
      if (!(error instanceof NodeError)) node.log(`${method}: ${error.stack ?? error}`);
      writeLine({ id, error: { code, message: String(error.message ?? error) } });
    }
  });
}

main().catch((error) => {
  process.stderr.write(`ldk node failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
