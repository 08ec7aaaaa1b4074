"""BOLT 8 transport errors: each names the act or the frame part that failed and why."""

from __future__ import annotations


class TransportError(Exception):
    """Base class of every BOLT 8 transport failure."""


class HandshakeError(TransportError):
    """The Noise_XK handshake failed in act `act` (1, 2 or 3).

    `code` is the failure name the BOLT 8 test vectors use (for example "ACT2_BAD_TAG").
    """

    reason = "FAILED"

    def __init__(self, act: int, message: str) -> None:
        super().__init__(f"act {act}: {message}")
        self.act = act

    @property
    def code(self) -> str:
        return f"ACT{self.act}_{self.reason}"


class HandshakeShortRead(HandshakeError):
    """Fewer bytes than the act's fixed size arrived (BOLT 8: "Read _exactly_ 50 bytes")."""

    reason = "READ_FAILED"

    def __init__(self, act: int, expected: int, received: int) -> None:
        super().__init__(act, f"short read: expected {expected} bytes, received {received}")
        self.expected = expected
        self.received = received


class HandshakeBadVersion(HandshakeError):
    """The act's leading version byte is not 0 (BOLT 8: "MUST abort the connection attempt")."""

    reason = "BAD_VERSION"

    def __init__(self, act: int, version: int) -> None:
        super().__init__(act, f"unknown handshake version {version}")
        self.version = version


class HandshakeBadPubkey(HandshakeError):
    """The ephemeral key (acts 1, 2) or the decrypted static key (act 3) is not a valid point."""

    reason = "BAD_PUBKEY"

    def __init__(self, act: int, key_bytes: bytes) -> None:
        super().__init__(act, f"invalid public key {key_bytes.hex()}")
        self.key_bytes = key_bytes


class HandshakeBadMac(HandshakeError):
    """A handshake MAC check failed (BOLT 8: "terminate the connection without any further messages")."""

    reason = "BAD_TAG"

    def __init__(self, act: int, what: str = "tag") -> None:
        super().__init__(act, f"MAC check failed on the {what}")


class HandshakeBadCiphertext(HandshakeBadMac):
    """Act three: the MAC of the encrypted static public key `c` failed."""

    reason = "BAD_CIPHERTEXT"

    def __init__(self, act: int = 3) -> None:
        super().__init__(act, "encrypted static public key")


class HandshakeStateError(TransportError):
    """A handshake method was called out of order (a programming error, not peer input)."""


class MessageTooLarge(TransportError):
    """BOLT 8: the maximum size of any Lightning message MUST NOT exceed 65535 bytes."""

    def __init__(self, length: int) -> None:
        super().__init__(f"message of {length} bytes exceeds the 65535-byte maximum")
        self.length = length


class MessageBadMac(TransportError):
    """Decrypting a frame failed: `part` is "length" (the 18-byte prefix) or "body"."""

    def __init__(self, part: str, nonce: int) -> None:
        super().__init__(f"MAC check failed on the message {part} (nonce {nonce})")
        self.part = part
        self.nonce = nonce


class MessageShortFrame(TransportError):
    """A frame part of the wrong size was given to the decryptor."""

    def __init__(self, part: str, expected: int, received: int) -> None:
        super().__init__(f"message {part}: expected {expected} bytes, received {received}")
        self.part = part
        self.expected = expected
        self.received = received


class ConnectionClosed(TransportError):
    """The peer closed the TCP stream (cleanly between frames, or in the middle of one)."""

    def __init__(self, detail: str, *, mid_frame: bool = False) -> None:
        super().__init__(detail)
        self.mid_frame = mid_frame
