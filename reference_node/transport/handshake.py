"""BOLT 8 Noise_XK handshake, sans-I/O: feed it the bytes of an act, get back the bytes to send.

    Noise_XK(s, rs):
       <- s
       ...
       -> e, es
       <- e, ee
       -> s, se

`InitiatorHandshake` and `ResponderHandshake` never touch a socket or a clock. The ephemeral key is given
by the caller (BOLT 8 requires it to be fresh and random; the test vectors and seeded runs fix it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey

from reference_node.transport.errors import (
    HandshakeBadCiphertext,
    HandshakeBadMac,
    HandshakeBadPubkey,
    HandshakeBadVersion,
    HandshakeShortRead,
    HandshakeStateError,
)
from reference_node.transport.primitives import (
    MAC_LEN,
    PROLOGUE,
    PROTOCOL_NAME,
    DecryptionFailed,
    decrypt_with_ad,
    ecdh,
    encrypt_with_ad,
    hkdf,
    parse_public_key,
    sha256,
)

# BOLT 8 "Authenticated Key Exchange Handshake Specification": fixed act sizes, version 0.
ACT_ONE_SIZE = 50
ACT_TWO_SIZE = 50
ACT_THREE_SIZE = 66
HANDSHAKE_VERSION = 0
_PUBKEY_LEN = 33


class HandshakeStep(enum.Enum):
    """Where a handshake stands; each method is allowed in exactly one step."""

    ACT_ONE = "act one"
    ACT_TWO = "act two"
    ACT_THREE = "act three"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class HandshakeResult:
    """The session keys at the end of act three (BOLT 8 steps "sk, rk = HKDF(ck, zero)" and "rck = sck = ck").

    `sk` encrypts what this side sends, `rk` decrypts what it receives.
    """

    sk: bytes
    rk: bytes
    ck: bytes
    remote_static_key: bytes  # the peer's node id, 33 bytes compressed


class _NoiseState:
    """The running `ck`, `h` and latest `temp_k`, shared by both roles."""

    def __init__(self, responder_static_key: bytes) -> None:
        # "Handshake State Initialization", steps 1-3 and the responder key mix-in.
        h = sha256(PROTOCOL_NAME)
        self.ck = h
        h = sha256(h + PROLOGUE)
        self.h = sha256(h + responder_static_key)
        self.temp_k = b""
        self.step = HandshakeStep.ACT_ONE

    def mix_hash(self, data: bytes) -> None:
        self.h = sha256(self.h + data)

    def mix_key(self, shared_secret: bytes) -> None:
        self.ck, self.temp_k = hkdf(self.ck, shared_secret)

    def expect(self, step: HandshakeStep, action: str) -> None:
        if self.step is not step:
            raise HandshakeStateError(f"cannot {action} during {self.step.value}")

    def read_ephemeral_act(self, act: int, message: bytes, local_key: PrivateKey) -> PublicKey:
        """Receiver actions of acts one and two: they are the same apart from the private key used."""
        if len(message) != ACT_ONE_SIZE:
            raise HandshakeShortRead(act, ACT_ONE_SIZE, len(message))
        version, re_bytes, c = message[0], message[1 : 1 + _PUBKEY_LEN], message[1 + _PUBKEY_LEN :]
        if version != HANDSHAKE_VERSION:
            raise HandshakeBadVersion(act, version)
        re = parse_public_key(re_bytes)
        if re is None:
            raise HandshakeBadPubkey(act, re_bytes)
        self.mix_hash(re_bytes)
        self.mix_key(ecdh(local_key, re))
        try:
            decrypt_with_ad(self.temp_k, 0, self.h, c)
        except DecryptionFailed as exc:
            raise HandshakeBadMac(act) from exc
        self.mix_hash(c)
        return re

    def write_ephemeral_act(self, ephemeral_key: PrivateKey, remote_key: PublicKey) -> bytes:
        """Sender actions of acts one and two."""
        e_pub = ephemeral_key.public_key.format(compressed=True)
        self.mix_hash(e_pub)
        self.mix_key(ecdh(ephemeral_key, remote_key))
        c = encrypt_with_ad(self.temp_k, 0, self.h, b"")
        self.mix_hash(c)
        return bytes([HANDSHAKE_VERSION]) + e_pub + c


class InitiatorHandshake:
    """The initiator's side: `act_one()`, then `act_three(act_two_bytes)`, then `result`."""

    def __init__(
        self, local_static_key: PrivateKey, remote_static_key: bytes, ephemeral_key: PrivateKey
    ) -> None:
        rs = parse_public_key(remote_static_key)
        if rs is None:
            raise ValueError(f"remote node id is not a compressed public key: {remote_static_key.hex()}")
        self._s = local_static_key
        self._rs = rs
        self._e = ephemeral_key
        self._re: PublicKey | None = None
        self._state = _NoiseState(remote_static_key)
        self.result: HandshakeResult | None = None

    @property
    def h(self) -> bytes:
        return self._state.h

    @property
    def ck(self) -> bytes:
        return self._state.ck

    @property
    def temp_k(self) -> bytes:
        return self._state.temp_k

    @property
    def step(self) -> HandshakeStep:
        return self._state.step

    def act_one(self) -> bytes:
        """Act One, sender actions: `-> e, es` (50 bytes)."""
        self._state.expect(HandshakeStep.ACT_ONE, "write act one")
        message = self._state.write_ephemeral_act(self._e, self._rs)
        self._state.step = HandshakeStep.ACT_TWO
        return message

    def read_act_two(self, message: bytes) -> None:
        """Act Two, receiver actions: check version, `re`, and the MAC under temp_k2."""
        self._state.expect(HandshakeStep.ACT_TWO, "read act two")
        try:
            self._re = self._state.read_ephemeral_act(2, message, self._e)
        except Exception:
            self._state.step = HandshakeStep.FAILED
            raise
        self._state.step = HandshakeStep.ACT_THREE

    def act_three(self) -> bytes:
        """Act Three, sender actions: `-> s, se` (66 bytes); sets `result`."""
        self._state.expect(HandshakeStep.ACT_THREE, "write act three")
        assert self._re is not None  # set by read_act_two, which moved us to ACT_THREE
        state = self._state
        temp_k2 = state.temp_k
        c = encrypt_with_ad(temp_k2, 1, state.h, self._s.public_key.format(compressed=True))
        state.mix_hash(c)
        state.mix_key(ecdh(self._s, self._re))
        t = encrypt_with_ad(state.temp_k, 0, state.h, b"")
        sk, rk = hkdf(state.ck, b"")
        self.result = HandshakeResult(sk=sk, rk=rk, ck=state.ck, remote_static_key=self._rs.format())
        state.step = HandshakeStep.DONE
        return bytes([HANDSHAKE_VERSION]) + c + t

    def respond(self, act_two: bytes) -> bytes:
        """Read act two and return act three."""
        self.read_act_two(act_two)
        return self.act_three()


class ResponderHandshake:
    """The responder's side: `read_act_one(m)`, `act_two()`, then `read_act_three(m)` returns the result."""

    def __init__(self, local_static_key: PrivateKey, ephemeral_key: PrivateKey) -> None:
        self._s = local_static_key
        self._e = ephemeral_key
        self._re: PublicKey | None = None
        self._state = _NoiseState(local_static_key.public_key.format(compressed=True))
        self.result: HandshakeResult | None = None

    @property
    def h(self) -> bytes:
        return self._state.h

    @property
    def ck(self) -> bytes:
        return self._state.ck

    @property
    def temp_k(self) -> bytes:
        return self._state.temp_k

    @property
    def step(self) -> HandshakeStep:
        return self._state.step

    def read_act_one(self, message: bytes) -> None:
        """Act One, receiver actions; a bad MAC means the initiator does not know our node id."""
        self._state.expect(HandshakeStep.ACT_ONE, "read act one")
        try:
            self._re = self._state.read_ephemeral_act(1, message, self._s)
        except Exception:
            self._state.step = HandshakeStep.FAILED
            raise
        self._state.step = HandshakeStep.ACT_TWO

    def act_two(self) -> bytes:
        """Act Two, sender actions: `<- e, ee` (50 bytes)."""
        self._state.expect(HandshakeStep.ACT_TWO, "write act two")
        assert self._re is not None  # set by read_act_one, which moved us to ACT_TWO
        message = self._state.write_ephemeral_act(self._e, self._re)
        self._state.step = HandshakeStep.ACT_THREE
        return message

    def respond(self, act_one: bytes) -> bytes:
        """Read act one and return act two."""
        self.read_act_one(act_one)
        return self.act_two()

    def read_act_three(self, message: bytes) -> HandshakeResult:
        """Act Three, receiver actions: recover `rs`, check both MACs, derive the session keys."""
        self._state.expect(HandshakeStep.ACT_THREE, "read act three")
        try:
            result = self._read_act_three(message)
        except Exception:
            self._state.step = HandshakeStep.FAILED
            raise
        self.result = result
        self._state.step = HandshakeStep.DONE
        return result

    def _read_act_three(self, message: bytes) -> HandshakeResult:
        state = self._state
        if len(message) != ACT_THREE_SIZE:
            raise HandshakeShortRead(3, ACT_THREE_SIZE, len(message))
        version, c, t = (
            message[0],
            message[1 : 1 + _PUBKEY_LEN + MAC_LEN],
            message[1 + _PUBKEY_LEN + MAC_LEN :],
        )
        if version != HANDSHAKE_VERSION:
            raise HandshakeBadVersion(3, version)
        try:
            rs_bytes = decrypt_with_ad(state.temp_k, 1, state.h, c)
        except DecryptionFailed as exc:
            raise HandshakeBadCiphertext(3) from exc
        rs = parse_public_key(rs_bytes)
        if rs is None:
            raise HandshakeBadPubkey(3, rs_bytes)
        state.mix_hash(c)
        state.mix_key(ecdh(self._e, rs))
        try:
            decrypt_with_ad(state.temp_k, 0, state.h, t)
        except DecryptionFailed as exc:
            raise HandshakeBadMac(3) from exc
        rk, sk = hkdf(state.ck, b"")
        return HandshakeResult(sk=sk, rk=rk, ck=state.ck, remote_static_key=rs_bytes)
