// Files in the data dir: every write goes to a temporary file, is fsynced, then renamed over the old
// one, so a crash leaves either the old or the new content (a restart recovers from them).
import * as fs from "node:fs";
import * as path from "node:path";

export class Store {
  constructor(dir) {
    this.dir = dir;
    fs.mkdirSync(path.join(dir, "monitors"), { recursive: true });
  }

  path(name) {
    return path.join(this.dir, name);
  }

  write(name, bytes) {
    const target = this.path(name);
    const tmp = `${target}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  }

  read(name) {
    const target = this.path(name);
    return fs.existsSync(target) ? new Uint8Array(fs.readFileSync(target)) : null;
  }

  writeJson(name, value) {
    this.write(name, Buffer.from(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v))));
  }

  readJson(name) {
    const bytes = this.read(name);
    return bytes === null ? null : JSON.parse(Buffer.from(bytes).toString());
  }

  list(subdir) {
    return fs.readdirSync(this.path(subdir)).filter((f) => !f.endsWith(".tmp"));
  }
}
