"""BOLT 8: encrypted and authenticated transport (Noise_XK over secp256k1, ChaCha20-Poly1305, SHA-256).

Sans-I/O: `InitiatorHandshake`, `ResponderHandshake`, `MessageEncryptor`, `MessageDecryptor`.
asyncio: `connect()`, `accept()`, `initiate()` return a `Connection` with `send`, `receive`, `close`.
"""

from reference_node.transport.cipher import (
    KEY_ROTATION_INTERVAL,
    MAX_MESSAGE_SIZE,
    CipherState,
    MessageDecryptor,
    MessageEncryptor,
    TransportSession,
)
from reference_node.transport.connection import Connection, accept, connect, initiate
from reference_node.transport.errors import (
    ConnectionClosed,
    HandshakeBadCiphertext,
    HandshakeBadMac,
    HandshakeBadPubkey,
    HandshakeBadVersion,
    HandshakeError,
    HandshakeShortRead,
    HandshakeStateError,
    MessageBadMac,
    MessageShortFrame,
    MessageTooLarge,
    TransportError,
)
from reference_node.transport.handshake import (
    ACT_ONE_SIZE,
    ACT_THREE_SIZE,
    ACT_TWO_SIZE,
    HandshakeResult,
    HandshakeStep,
    InitiatorHandshake,
    ResponderHandshake,
)

__all__ = [
    "ACT_ONE_SIZE",
    "ACT_THREE_SIZE",
    "ACT_TWO_SIZE",
    "KEY_ROTATION_INTERVAL",
    "MAX_MESSAGE_SIZE",
    "CipherState",
    "Connection",
    "ConnectionClosed",
    "HandshakeBadCiphertext",
    "HandshakeBadMac",
    "HandshakeBadPubkey",
    "HandshakeBadVersion",
    "HandshakeError",
    "HandshakeResult",
    "HandshakeShortRead",
    "HandshakeStateError",
    "HandshakeStep",
    "InitiatorHandshake",
    "MessageBadMac",
    "MessageDecryptor",
    "MessageEncryptor",
    "MessageShortFrame",
    "MessageTooLarge",
    "ResponderHandshake",
    "TransportError",
    "TransportSession",
    "accept",
    "connect",
    "initiate",
]
