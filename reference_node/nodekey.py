"""The node's long-term secp256k1 key (its BOLT 8 static key `ls`; the public key is the node id), and
seeded entropy so that runs replay.

The key lives in `<data dir>/node_key` as hex, mode 0600. A key file that group or others can read is
refused: that key signs everything the node announces and authenticates every connection.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from coincurve import PrivateKey

NODE_KEY_FILE = "node_key"
_KEY_FILE_MODE = 0o600
_DATA_DIR_MODE = 0o700


class NodeKeyError(Exception):
    """The node key file cannot be used."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


class InsecureNodeKeyFile(NodeKeyError):
    """The key file's permissions let group or others read or write it."""

    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(
            path, f"permissions {oct(mode)} let others read the node key; run `chmod 600 {path}` and retry"
        )
        self.mode = mode


class MalformedNodeKeyFile(NodeKeyError):
    """The key file does not hold one valid hex-encoded secp256k1 secret key."""


class NodeKeySeedMismatch(NodeKeyError):
    """A seed was given but the key on disk is not the one that seed derives (the run would not replay)."""


@dataclass(frozen=True)
class NodeKey:
    """The node's static key pair. `repr` never shows the secret."""

    private_key: PrivateKey = field(repr=False)
    node_id: bytes  # 33-byte compressed public key

    @classmethod
    def from_secret(cls, secret: bytes) -> NodeKey:
        private_key = PrivateKey(secret)
        return cls(private_key=private_key, node_id=private_key.public_key.format(compressed=True))

    @property
    def node_id_hex(self) -> str:
        return self.node_id.hex()


class Entropy:
    """Every random choice of a node: from the OS, or derived from a seed so that a run replays.

    Seeded output is HMAC-SHA256(seed, label || counter): distinct labels give independent streams.
    BOLT 8 requires fresh random ephemeral keys; a seed is for tests and replays only.
    """

    def __init__(self, seed: bytes | None = None) -> None:
        self.seed = seed
        self._counters: dict[str, int] = {}

    @property
    def seeded(self) -> bool:
        return self.seed is not None

    def random_bytes(self, label: str, length: int = 32) -> bytes:
        if self.seed is None:
            return os.urandom(length)
        out = b""
        while len(out) < length:
            counter = self._counters.get(label, 0)
            self._counters[label] = counter + 1
            out += hmac.new(self.seed, f"{label}/{counter}".encode(), hashlib.sha256).digest()
        return out[:length]

    def private_key(self, label: str) -> PrivateKey:
        while True:
            candidate = self.random_bytes(label)
            try:
                return PrivateKey(candidate)
            except ValueError:
                continue  # zero or >= the curve order: probability ~2^-128, draw again

    def child(self, label: str) -> Entropy:
        """An independent stream for a sub-component (for example one per peer connection)."""
        if self.seed is None:
            return Entropy(None)
        return Entropy(hmac.new(self.seed, f"child/{label}".encode(), hashlib.sha256).digest())


def node_key_from_seed(seed: bytes) -> NodeKey:
    return NodeKey.from_secret(Entropy(seed).private_key("node_key").secret)


def load_or_create_node_key(data_dir: Path, *, seed: bytes | None = None) -> NodeKey:
    """Load `<data_dir>/node_key`, or create it (from `seed` if given, else from the OS) with mode 0600."""
    path = data_dir / NODE_KEY_FILE
    if path.exists():
        key = load_node_key(path)
        if seed is not None and key.node_id != node_key_from_seed(seed).node_id:
            raise NodeKeySeedMismatch(path, "the key on disk is not the one the given seed derives")
        return key
    data_dir.mkdir(mode=_DATA_DIR_MODE, parents=True, exist_ok=True)
    key = node_key_from_seed(seed) if seed is not None else NodeKey.from_secret(PrivateKey().secret)
    # O_EXCL: never overwrite a key another process created meanwhile; the mode applies at creation.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_FILE_MODE)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.private_key.secret.hex() + "\n")
    return key


def load_node_key(path: Path) -> NodeKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureNodeKeyFile(path, mode)
    try:
        secret = bytes.fromhex(path.read_bytes().decode("ascii").strip())
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise MalformedNodeKeyFile(path, "not hex") from exc
    if len(secret) != 32:
        raise MalformedNodeKeyFile(path, f"expected 32 bytes, found {len(secret)}")
    try:
        return NodeKey.from_secret(secret)
    except ValueError as exc:
        raise MalformedNodeKeyFile(path, "not a valid secp256k1 secret key") from exc
