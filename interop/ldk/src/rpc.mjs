// A bitcoind JSON-RPC client (our embedded chain's facade speaks the same protocol).
export class RpcError extends Error {
  constructor(method, code, message) {
    super(`${method}: ${message} (code ${code})`);
    this.method = method;
    this.code = code;
  }
}

export class BitcoinRpc {
  constructor(url, user, password) {
    this.url = url;
    this.auth = "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
    this.nextId = 1;
  }

  async call(method, ...params) {
    const id = this.nextId++;
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: this.auth },
      body: JSON.stringify({ jsonrpc: "1.0", id, method, params }),
    });
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RpcError(method, response.status, `non-JSON answer: ${text.slice(0, 200)}`);
    }
    if (body.error) throw new RpcError(method, body.error.code, body.error.message);
    return body.result;
  }
}
