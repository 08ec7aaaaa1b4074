"""The node's view of the chain: a small `ChainSource` protocol, and its bitcoind JSON-RPC implementation.

The reference node never imports the harness: the harness adapts its EmbeddedChain to this protocol, and a
process node (`boltcheck node --chain URL`) talks to `boltcheck chain` or a real bitcoind over RPC.
Every call is blocking; the node runs them in a worker thread. `wait_for_block` is a long poll
(bitcoind's `waitforblockheight`), so no one sleeps waiting for a block.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reference_node.bitcoin.encoding import ByteReader
from reference_node.bitcoin.tx import Tx

# BOLT 2 / Bitcoin Core: 253 sat/kw is the floor (1 sat/vB rounded up after the /4 of kw -> kvB)
FEERATE_FLOOR_PER_KW = 253
BLOCK_HEADER_LEN = 80


class ChainSourceError(Exception):
    """The chain backend failed or refused a request; carries the backend's message."""


class TxBroadcastRejected(ChainSourceError):
    """The backend's mempool refused a transaction."""


@dataclass(frozen=True)
class ChainBlock:
    height: int
    block_hash: str  # display (reversed) hex
    txs: tuple[Tx, ...]


class ChainSource(Protocol):
    def height(self) -> int: ...

    def block_at(self, height: int) -> ChainBlock: ...

    def block_hash(self, height: int) -> str:
        """The active chain's block hash at `height` (display hex)."""
        ...

    def send_raw(self, raw: bytes) -> str:
        """Broadcast; returns the txid (display hex) or raises TxBroadcastRejected."""
        ...

    def feerate_per_kw(self, target_blocks: int) -> int: ...

    def wait_for_block(self, known_height: int, timeout_s: float) -> int:
        """Return the height once it exceeds `known_height`, or the current height after `timeout_s`."""
        ...

    def close(self) -> None: ...


def parse_block(raw: bytes, height: int) -> ChainBlock:
    """A serialized block: header, then its transactions (parsed one by one from a shared reader)."""
    from reference_node.bitcoin.hashes import sha256d

    reader = ByteReader(raw[BLOCK_HEADER_LEN:])
    count = reader.compact_size()
    txs = []
    body = raw[BLOCK_HEADER_LEN:]
    start = reader.offset
    for _ in range(count):
        end = _tx_end(body, start)
        txs.append(Tx.parse(body[start:end]))
        start = end
    return ChainBlock(height, sha256d(raw[:BLOCK_HEADER_LEN])[::-1].hex(), tuple(txs))


def _tx_end(body: bytes, start: int) -> int:
    """Where the transaction starting at `start` ends (walks its fields without building it)."""
    reader = ByteReader(body[start:])
    reader.read(4)
    segwit = reader.peek(1) == b"\x00"
    if segwit:
        reader.read(2)
    n_in = reader.compact_size()
    for _ in range(n_in):
        reader.read(36)
        reader.var_bytes()
        reader.read(4)
    n_out = reader.compact_size()
    for _ in range(n_out):
        reader.read(8)
        reader.var_bytes()
    if segwit:
        for _ in range(n_in):
            for _ in range(reader.compact_size()):
                reader.var_bytes()
    reader.read(4)
    return start + reader.offset


@dataclass(frozen=True)
class RpcEndpoint:
    url: str  # without credentials
    user: str
    password: str = ""

    @classmethod
    def parse(cls, url: str, cookie: Path | None = None) -> RpcEndpoint:
        """`http://user:password@host:port`, or `http://host:port` with a `.cookie` file (user:password)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            raise ChainSourceError(f"--chain must be an http URL, got {url!r}")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            return cls(clean, user, urllib.parse.unquote(parts.password or ""))
        if cookie is None:
            raise ChainSourceError(f"{url}: no credentials in the URL and no cookie file given")
        user, sep, password = cookie.read_text().strip().partition(":")
        if not sep:
            raise ChainSourceError(f"{cookie}: not a user:password cookie")
        return cls(clean, user, password)


class BitcoindChainSource:
    """A `ChainSource` over bitcoind's JSON-RPC (or `boltcheck chain`'s compatible subset)."""

    def __init__(self, endpoint: RpcEndpoint, timeout_s: float = 30.0) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        token = base64.b64encode(f"{endpoint.user}:{endpoint.password}".encode()).decode()
        self._auth = f"Basic {token}"
        self._next_id = 0

    def call(self, method: str, *params: Any, timeout_s: float | None = None) -> Any:
        self._next_id += 1
        body = json.dumps({"jsonrpc": "1.0", "id": self._next_id, "method": method, "params": list(params)})
        request = urllib.request.Request(
            self.endpoint.url,
            data=body.encode(),
            headers={"Authorization": self._auth, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            # bitcoind answers RPC errors with HTTP 500 and a JSON body
            try:
                reply = json.loads(exc.read())
            except ValueError:
                raise ChainSourceError(f"{method}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ChainSourceError(f"{method}: {exc}") from exc
        if reply.get("error"):
            error = reply["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            if method == "sendrawtransaction":
                raise TxBroadcastRejected(message)
            raise ChainSourceError(f"{method}: {message}")
        return reply.get("result")

    def height(self) -> int:
        return int(self.call("getblockcount"))

    def block_at(self, height: int) -> ChainBlock:
        block_hash = self.call("getblockhash", height)
        return parse_block(bytes.fromhex(self.call("getblock", block_hash, 0)), height)

    def block_hash(self, height: int) -> str:
        return str(self.call("getblockhash", height))

    def send_raw(self, raw: bytes) -> str:
        return str(self.call("sendrawtransaction", raw.hex()))

    def feerate_per_kw(self, target_blocks: int) -> int:
        result = self.call("estimatesmartfee", target_blocks)
        feerate_btc_per_kvb = result.get("feerate") if isinstance(result, dict) else None
        if feerate_btc_per_kvb is None:
            return FEERATE_FLOOR_PER_KW
        # BTC/kvB -> sat/kvB -> sat/kw (1 vbyte = 4 weight units)
        sat_per_kvb = round(float(feerate_btc_per_kvb) * 100_000_000)
        return max(FEERATE_FLOOR_PER_KW, sat_per_kvb // 4)

    def wait_for_block(self, known_height: int, timeout_s: float) -> int:
        result = self.call(
            "waitforblockheight",
            known_height + 1,
            int(timeout_s * 1000),
            timeout_s=timeout_s + self.timeout_s,
        )
        return int(result["height"])

    def close(self) -> None:
        """Nothing to release: every call opens its own HTTP connection."""
