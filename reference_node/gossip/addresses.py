"""`node_announcement` address descriptors (BOLT 7 "The `node_announcement` Message").

Types: 1 ipv4 (6 bytes), 2 ipv6 (18), 3 deprecated Tor v2 (12), 4 Tor v3 (37), 5 DNS hostname
(1 + hostname_len + 2). `encode_addresses` enforces the origin rules; `parse_addresses` applies the
receiver rules and reports what a receiver must do with the rest.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from dataclasses import dataclass

from reference_node.gossip.errors import AddressDescriptorError, OriginError


class AddressType(enum.IntEnum):
    IPV4 = 1
    IPV6 = 2
    TOR_V2 = 3  # "Deprecated (length 12). Used to contain Tor v2 onion services."
    TOR_V3 = 4
    DNS_HOSTNAME = 5


# Length of the data after the type byte (address + 2-byte port).
_FIXED_LENGTH = {AddressType.IPV4: 6, AddressType.IPV6: 18, AddressType.TOR_V2: 12, AddressType.TOR_V3: 37}
_TOR_V3_VERSION = 3


@dataclass(frozen=True)
class AddressDescriptor:
    """One descriptor. `address` is the raw address bytes (4 / 16 / 10 / 35 bytes, or the ASCII
    hostname for DNS); `port` is the TCP port."""

    type: AddressType
    address: bytes
    port: int

    @classmethod
    def ipv4(cls, text: str, port: int) -> AddressDescriptor:
        return cls(AddressType.IPV4, ipaddress.IPv4Address(text).packed, port)

    @classmethod
    def ipv6(cls, text: str, port: int) -> AddressDescriptor:
        return cls(AddressType.IPV6, ipaddress.IPv6Address(text).packed, port)

    @classmethod
    def tor_v3(cls, ed25519_pubkey: bytes, port: int) -> AddressDescriptor:
        """`[32:pubkey] || [2:checksum] || [1:version]`, checksum = sha3(".onion checksum" || pubkey ||
        version)[:2] (BOLT 7, prop224)."""
        if len(ed25519_pubkey) != 32:
            raise OriginError(f"Tor v3 pubkey must be 32 bytes, got {len(ed25519_pubkey)}")
        version = bytes([_TOR_V3_VERSION])
        checksum = hashlib.sha3_256(b".onion checksum" + ed25519_pubkey + version).digest()[:2]
        return cls(AddressType.TOR_V3, ed25519_pubkey + checksum + version, port)

    @classmethod
    def dns(cls, hostname: str, port: int) -> AddressDescriptor:
        """ "`hostname` bytes MUST be ASCII characters": non-ASCII names are Punycode-encoded (IDNA)."""
        try:
            raw = hostname.encode("ascii")
        except UnicodeEncodeError:
            raw = hostname.encode("idna")
        return cls(AddressType.DNS_HOSTNAME, raw, port)

    def encode(self) -> bytes:
        port = self.port.to_bytes(2, "big")
        if self.type == AddressType.DNS_HOSTNAME:
            return bytes([self.type, len(self.address)]) + self.address + port
        return bytes([self.type]) + self.address + port

    def __str__(self) -> str:
        if self.type == AddressType.IPV4:
            return f"{ipaddress.IPv4Address(self.address)}:{self.port}"
        if self.type == AddressType.IPV6:
            return f"[{ipaddress.IPv6Address(self.address)}]:{self.port}"
        return f"{self.type.name}:{self.address.hex()}:{self.port}"


def encode_addresses(descriptors: tuple[AddressDescriptor, ...]) -> bytes:
    """The `addresses` field, checking the origin requirements:
    "MUST place address descriptors in ascending order", "MUST NOT create a `type 1`, `type 2` or
    `type 5` address descriptor with `port` equal to 0", "MUST NOT announce more than one `type 5` DNS
    hostname", "SHOULD not announce a Tor v2 onion service" (refused), hostname ASCII."""
    previous = 0
    for descriptor in descriptors:
        if descriptor.type < previous:
            raise OriginError("address descriptors must be in ascending order of type")
        if descriptor.type == AddressType.DNS_HOSTNAME and previous == AddressType.DNS_HOSTNAME:
            raise OriginError("more than one type 5 DNS hostname")
        previous = descriptor.type
        if descriptor.type == AddressType.TOR_V2:
            raise OriginError("Tor v2 onion services are deprecated and not announced")
        if descriptor.port == 0 and descriptor.type in _PORT_CHECKED:
            raise OriginError(f"{descriptor.type.name} address with port 0")
        if not 0 <= descriptor.port < 1 << 16:
            raise OriginError(f"port {descriptor.port} out of range")
        expected = _FIXED_LENGTH.get(descriptor.type)
        if expected is not None and len(descriptor.address) + 2 != expected:
            raise OriginError(f"{descriptor.type.name} address of {len(descriptor.address)} bytes")
        if descriptor.type == AddressType.DNS_HOSTNAME and not (
            descriptor.address.isascii() and 0 < len(descriptor.address) < 256
        ):
            raise OriginError("DNS hostname must be 1..255 ASCII bytes")
    return b"".join(d.encode() for d in descriptors)


_PORT_CHECKED = frozenset({AddressType.IPV4, AddressType.IPV6, AddressType.DNS_HOSTNAME})


@dataclass(frozen=True)
class ParsedAddresses:
    """What a receiver keeps from `addresses`.

    `addresses`: the usable descriptors (port-0 ip/hostname, Tor v2 and extra DNS ones dropped);
    `unknown_from`: offset of the first unknown type (everything after it is ignored), or None;
    `forwardable`: False when more than one type 5 was announced ("MUST not forward").
    """

    addresses: tuple[AddressDescriptor, ...]
    unknown_from: int | None
    forwardable: bool


def parse_addresses(data: bytes) -> ParsedAddresses:
    """Receiver rules: "SHOULD ignore the first `address descriptor` that does NOT match the types
    defined above" (and, since they cannot be skipped, what follows); "if `addrlen` is insufficient to
    hold the address descriptors of the known types: SHOULD send a `warning`" (AddressDescriptorError);
    "if `port` is equal to 0: SHOULD ignore"; "SHOULD ignore Tor v2 onion services"; "if more than one
    `type 5` address is announced: SHOULD ignore the additional data. MUST not forward"."""
    kept: list[AddressDescriptor] = []
    offset = 0
    dns_seen = False
    forwardable = True
    while offset < len(data):
        type_byte = data[offset]
        try:
            address_type = AddressType(type_byte)
        except ValueError:
            return ParsedAddresses(tuple(kept), offset, forwardable)
        if address_type == AddressType.DNS_HOSTNAME:
            if offset + 2 > len(data):
                raise AddressDescriptorError("node_announcement", "addrlen too short for a DNS hostname")
            length = 1 + data[offset + 1] + 2
            body_start = offset + 2
        else:
            length = _FIXED_LENGTH[address_type]
            body_start = offset + 1
        end = offset + 1 + length
        if end > len(data):
            raise AddressDescriptorError(
                "node_announcement", f"addrlen too short for a {address_type.name} descriptor at {offset}"
            )
        address, port = data[body_start : end - 2], int.from_bytes(data[end - 2 : end], "big")
        offset = end
        descriptor = AddressDescriptor(address_type, address, port)
        if address_type == AddressType.TOR_V2:
            continue
        if address_type == AddressType.DNS_HOSTNAME:
            if dns_seen:
                forwardable = False
                continue
            dns_seen = True
        if port == 0 and address_type in _PORT_CHECKED:
            continue
        kept.append(descriptor)
    return ParsedAddresses(tuple(kept), None, forwardable)
