"""node_announcement address descriptors: origin rules when encoding, receiver rules when parsing."""

from __future__ import annotations

import hashlib

import pytest

from reference_node.gossip.addresses import (
    AddressDescriptor,
    AddressType,
    encode_addresses,
    parse_addresses,
)
from reference_node.gossip.errors import AddressDescriptorError, OriginError

IPV4 = AddressDescriptor.ipv4("203.0.113.5", 9735)
IPV6 = AddressDescriptor.ipv6("2001:db8::1", 9735)
TOR = AddressDescriptor.tor_v3(bytes(range(32)), 9735)
DNS = AddressDescriptor.dns("node.example.com", 9735)


def test_every_known_type_round_trips_in_ascending_order() -> None:
    parsed = parse_addresses(encode_addresses((IPV4, IPV6, TOR, DNS)))
    assert parsed.addresses == (IPV4, IPV6, TOR, DNS)
    assert parsed.unknown_from is None and parsed.forwardable


def test_descriptor_lengths_match_the_spec_table() -> None:
    assert [len(d.encode()) - 1 for d in (IPV4, IPV6, TOR)] == [6, 18, 37]
    assert len(DNS.encode()) - 1 == 1 + len(b"node.example.com") + 2


def test_tor_v3_checksum_is_sha3_of_the_onion_checksum_string() -> None:
    pubkey = bytes(range(32))
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    assert TOR.address == pubkey + checksum + b"\x03"


def test_non_ascii_hostname_is_punycode() -> None:
    assert AddressDescriptor.dns("bücher.example", 1).address.isascii()


@pytest.mark.parametrize(
    "descriptors",
    [
        (IPV6, IPV4),
        (DNS, AddressDescriptor.dns("other.example.com", 9735)),
        (AddressDescriptor.ipv4("203.0.113.5", 0),),
        (AddressDescriptor(AddressType.TOR_V2, bytes(10), 9735),),
    ],
    ids=["descending", "two-dns", "port-0", "tor-v2"],
)
def test_origin_rules_refuse_bad_address_lists(descriptors: tuple[AddressDescriptor, ...]) -> None:
    with pytest.raises(OriginError):
        encode_addresses(descriptors)


def test_receiver_ignores_from_the_first_unknown_type() -> None:
    raw = IPV4.encode() + bytes([7, 1, 2, 3]) + IPV6.encode()
    parsed = parse_addresses(raw)
    assert parsed.addresses == (IPV4,)
    assert parsed.unknown_from == len(IPV4.encode())


def test_receiver_warns_when_addrlen_is_too_short_for_a_known_type() -> None:
    with pytest.raises(AddressDescriptorError):
        parse_addresses(IPV6.encode()[:-1])


def test_receiver_ignores_port_zero_and_tor_v2() -> None:
    raw = (
        AddressDescriptor.ipv4("203.0.113.5", 0).encode()
        + AddressDescriptor(AddressType.TOR_V2, bytes(10), 9735).encode()
        + TOR.encode()
    )
    assert parse_addresses(raw).addresses == (TOR,)


def test_receiver_keeps_one_dns_hostname_and_marks_the_announcement_unforwardable() -> None:
    second = AddressDescriptor.dns("other.example.com", 9735)
    parsed = parse_addresses(DNS.encode() + second.encode())
    assert parsed.addresses == (DNS,)
    assert not parsed.forwardable
