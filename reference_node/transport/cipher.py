"""BOLT 8 "Lightning Message Specification" and "Lightning Message Key Rotation", sans-I/O.

A frame on the wire is `lc || c`: the 2-byte big-endian length encrypted with its 16-byte MAC (18 bytes),
then the message encrypted with its MAC (len + 16 bytes). Each encryption uses the next nonce; a key is
rotated once its nonce reaches 1000, that is every 500 messages.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from reference_node.transport.errors import MessageBadMac, MessageShortFrame, MessageTooLarge
from reference_node.transport.handshake import HandshakeResult
from reference_node.transport.primitives import MAC_LEN, hkdf, nonce_bytes

# BOLT 8: "The *maximum* size of _any_ Lightning message MUST NOT exceed `65535` bytes."
MAX_MESSAGE_SIZE = 65535
LENGTH_PREFIX_SIZE = 2 + MAC_LEN  # 18 bytes: encrypted length and its MAC
# BOLT 8: "rotating the key once the nonce dedicated to it reaches 1000".
KEY_ROTATION_INTERVAL = 1000


class CipherState:
    """One direction's key `k`, chaining key (`sck` or `rck`) and nonce, rotating as BOLT 8 requires."""

    def __init__(self, key: bytes, chaining_key: bytes) -> None:
        self._set_key(key)
        self.chaining_key = chaining_key
        self.nonce = 0

    def _set_key(self, key: bytes) -> None:
        self.key = key
        self._aead = ChaCha20Poly1305(key)

    def _advance(self) -> None:
        self.nonce += 1
        if self.nonce == KEY_ROTATION_INTERVAL:
            # "ck', k' = HKDF(ck, k)", reset the nonce to 0, then use k' and ck'.
            self.chaining_key, next_key = hkdf(self.chaining_key, self.key)
            self._set_key(next_key)
            self.nonce = 0

    def encrypt(self, plaintext: bytes) -> bytes:
        """encryptWithAD(k, n, zero-length AD, plaintext), then increment (and maybe rotate)."""
        ciphertext = self._aead.encrypt(nonce_bytes(self.nonce), plaintext, b"")
        self._advance()
        return ciphertext

    def decrypt(self, ciphertext: bytes, part: str) -> bytes:
        """decryptWithAD(k, n, zero-length AD, ciphertext), then increment; MessageBadMac on failure.

        After a failure the nonce is not advanced: the connection must be dropped anyway.
        """
        try:
            plaintext = self._aead.decrypt(nonce_bytes(self.nonce), ciphertext, b"")
        except InvalidTag as exc:
            raise MessageBadMac(part, self.nonce) from exc
        self._advance()
        return plaintext


class MessageEncryptor:
    """ "Encrypting and Sending Messages": `encrypt(m) -> lc || c`."""

    def __init__(self, sk: bytes, sck: bytes) -> None:
        self.cipher = CipherState(sk, sck)

    def encrypt(self, message: bytes) -> bytes:
        if len(message) > MAX_MESSAGE_SIZE:
            raise MessageTooLarge(len(message))
        lc = self.cipher.encrypt(struct.pack(">H", len(message)))
        return lc + self.cipher.encrypt(message)


class MessageDecryptor:
    """ "Receiving and Decrypting Messages": `decrypt_length(lc)` then `decrypt_body(c)`.

    `feed(data)` wraps the two for byte-stream callers: it buffers and returns every complete message.
    """

    def __init__(self, rk: bytes, rck: bytes) -> None:
        self.cipher = CipherState(rk, rck)
        self._buffer = bytearray()
        self._pending_length: int | None = None

    def decrypt_length(self, lc: bytes) -> int:
        """The length of the next message body; the caller then reads exactly that + 16 bytes."""
        if len(lc) != LENGTH_PREFIX_SIZE:
            raise MessageShortFrame("length", LENGTH_PREFIX_SIZE, len(lc))
        (length,) = struct.unpack(">H", self.cipher.decrypt(lc, "length"))
        return int(length)

    def decrypt_body(self, c: bytes, length: int) -> bytes:
        if len(c) != length + MAC_LEN:
            raise MessageShortFrame("body", length + MAC_LEN, len(c))
        return self.cipher.decrypt(c, "body")

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages: list[bytes] = []
        while True:
            if self._pending_length is None:
                if len(self._buffer) < LENGTH_PREFIX_SIZE:
                    return messages
                self._pending_length = self.decrypt_length(bytes(self._buffer[:LENGTH_PREFIX_SIZE]))
                del self._buffer[:LENGTH_PREFIX_SIZE]
            body_size = self._pending_length + MAC_LEN
            if len(self._buffer) < body_size:
                return messages
            messages.append(self.decrypt_body(bytes(self._buffer[:body_size]), self._pending_length))
            del self._buffer[:body_size]
            self._pending_length = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buffer)


@dataclass
class TransportSession:
    """Both directions of an established BOLT 8 session (steps 7-8 / 10-11 of act three: "rck = sck = ck")."""

    encryptor: MessageEncryptor
    decryptor: MessageDecryptor
    remote_static_key: bytes

    @classmethod
    def from_handshake(cls, result: HandshakeResult) -> TransportSession:
        return cls(
            encryptor=MessageEncryptor(result.sk, result.ck),
            decryptor=MessageDecryptor(result.rk, result.ck),
            remote_static_key=result.remote_static_key,
        )
