"""Property tests for BOLT 11 invoices: our own round trip, and a cross-check against an independent
implementation (the `bolt11` PyPI package, used only here, on the other side of the test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import bolt11
from bitstring import BitArray
from bolt11.models.fallback import Fallback as Bolt11Fallback
from bolt11.models.features import Features as Bolt11Features
from bolt11.models.features import FeatureState
from bolt11.models.routehint import Route, RouteHint
from bolt11.models.tags import TagChar, Tags
from bolt11.types import MilliSatoshi
from coincurve import PrivateKey
from coincurve.utils import GROUP_ORDER_INT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.vectors import load_json
from reference_node.bitcoin import bech32
from reference_node.invoice import (
    Currency,
    FallbackAddress,
    Invoice,
    InvoiceError,
    RouteHintHop,
    create_invoice,
    decode_invoice,
    encode_invoice,
)
from reference_node.invoice.route_hint import scid_to_text
from reference_node.wire.features import Features

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_MSAT = 21_000_000 * 100_000_000_000
SPEC_INVOICES = [example["invoice"] for example in load_json("bolt11/valid.json")["examples"]]


@dataclass(frozen=True)
class InvoiceParams:
    currency: Currency
    timestamp: int
    private_key: bytes
    payment_hash: bytes
    payment_secret: bytes
    amount_msat: int | None
    description: str | None
    description_hash: bytes | None
    expiry_seconds: int | None
    min_final_cltv_expiry_delta: int | None
    features: Features
    route_hints: tuple[tuple[RouteHintHop, ...], ...]
    fallbacks: tuple[FallbackAddress, ...]
    payment_metadata: bytes | None
    include_node_id: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def create(self) -> Invoice:
        return create_invoice(
            currency=self.currency,
            payment_hash=self.payment_hash,
            payment_secret=self.payment_secret,
            timestamp=self.timestamp,
            private_key=self.private_key,
            amount_msat=self.amount_msat,
            description=self.description,
            description_hash=self.description_hash,
            expiry_seconds=self.expiry_seconds,
            min_final_cltv_expiry_delta=self.min_final_cltv_expiry_delta,
            features=self.features,
            route_hints=self.route_hints,
            fallbacks=self.fallbacks,
            payment_metadata=self.payment_metadata,
            include_node_id=self.include_node_id,
        )

    @property
    def node_id(self) -> bytes:
        return PrivateKey(self.private_key).public_key.format(compressed=True)


private_keys = st.integers(1, GROUP_ORDER_INT - 1).map(lambda k: k.to_bytes(32, "big"))
hashes = st.binary(min_size=32, max_size=32)
hops = st.builds(
    RouteHintHop,
    pubkey=st.binary(min_size=33, max_size=33),
    short_channel_id=st.integers(0, 2**64 - 1),
    fee_base_msat=st.integers(0, 2**32 - 1),
    fee_proportional_millionths=st.integers(0, 2**32 - 1),
    cltv_expiry_delta=st.integers(0, 2**16 - 1),
)
route_hints = st.lists(st.lists(hops, min_size=1, max_size=3).map(tuple), max_size=3).map(tuple)
# bolt11 2.2.0 reads the hop integers as signed (`intbe`): the cross-check keeps them below the sign bit.
bolt11_hops = st.builds(
    RouteHintHop,
    pubkey=st.binary(min_size=33, max_size=33),
    short_channel_id=st.integers(0, 2**63 - 1),
    fee_base_msat=st.integers(0, 2**31 - 1),
    fee_proportional_millionths=st.integers(0, 2**31 - 1),
    cltv_expiry_delta=st.integers(0, 2**15 - 1),
)
bolt11_route_hints = st.lists(st.lists(bolt11_hops, min_size=1, max_size=3).map(tuple), max_size=3).map(tuple)
# Per pair (known ones, plus unknown pairs whose odd bit readers ignore): absent, compulsory or optional;
# never both bits, which a writer "MUST NOT set".
_PAIRS = {8: "both", 14: "both", 16: "both", 24: "both", 48: "both", 100: "odd", 254: "odd"}
feature_bits = st.tuples(
    *(
        st.sampled_from([(), (even + 1,)] if kind == "odd" else [(), (even,), (even + 1,)])
        for even, kind in _PAIRS.items()
    )
).map(lambda chosen: {bit for bits in chosen for bit in bits})
witness_fallbacks = st.one_of(
    st.builds(FallbackAddress, st.just(0), st.binary(min_size=20, max_size=20)),
    st.builds(FallbackAddress, st.just(0), st.binary(min_size=32, max_size=32)),
    st.builds(FallbackAddress, st.just(1), st.binary(min_size=32, max_size=32)),
)
fallbacks = st.one_of(
    witness_fallbacks,
    st.builds(FallbackAddress, st.sampled_from([17, 18]), st.binary(min_size=20, max_size=20)),
)
descriptions = st.text(max_size=120)  # at most 480 UTF-8 bytes: under the 639-byte field limit
# The bolt11 package treats an empty `d` as absent and refuses the invoice; the spec allows it.
bolt11_descriptions = st.text(min_size=1, max_size=120)


@st.composite
def invoice_params(
    draw: st.DrawFn,
    currencies: list[Currency],
    max_fallbacks: int = 3,
    description_texts: st.SearchStrategy[str] = descriptions,
    fallback_addresses: st.SearchStrategy[FallbackAddress] = fallbacks,
    route_hint_lists: st.SearchStrategy[tuple[tuple[RouteHintHop, ...], ...]] = route_hints,
) -> InvoiceParams:
    use_hash = draw(st.booleans())
    return InvoiceParams(
        currency=draw(st.sampled_from(currencies)),
        timestamp=draw(st.integers(0, 2**35 - 1)),
        private_key=draw(private_keys),
        payment_hash=draw(hashes),
        payment_secret=draw(hashes),
        amount_msat=draw(st.none() | st.integers(1, MAX_MSAT)),
        description=None if use_hash else draw(description_texts),
        description_hash=draw(hashes) if use_hash else None,
        expiry_seconds=draw(st.none() | st.integers(1, 2**32)),
        min_final_cltv_expiry_delta=draw(st.none() | st.integers(1, 2**16)),
        features=Features.from_bits(draw(feature_bits)),
        route_hints=draw(route_hint_lists),
        fallbacks=tuple(draw(st.lists(fallback_addresses, max_size=max_fallbacks))),
        payment_metadata=draw(st.none() | st.binary(min_size=1, max_size=64)),
        include_node_id=draw(st.booleans()),
    )


ALL_CURRENCIES = list(Currency)
# The bolt11 package knows these prefixes, and renders fallbacks only for bc and tb.
BOLT11_CURRENCIES = [Currency.BITCOIN, Currency.TESTNET, Currency.SIGNET, Currency.REGTEST]
BOLT11_FALLBACK_CURRENCIES = [Currency.BITCOIN, Currency.TESTNET]
# bolt11 2.2.0 renders and parses every witness version with bech32, not BIP 350's bech32m: its P2TR
# fallbacks are wrong, so the cross-check uses v0, P2PKH and P2SH fallbacks only.
bolt11_fallbacks = st.one_of(
    st.builds(FallbackAddress, st.just(0), st.binary(min_size=20, max_size=20)),
    st.builds(FallbackAddress, st.just(0), st.binary(min_size=32, max_size=32)),
    st.builds(FallbackAddress, st.sampled_from([17, 18]), st.binary(min_size=20, max_size=20)),
)
BOLT11_PARAMS = st.one_of(
    invoice_params(
        BOLT11_CURRENCIES,
        max_fallbacks=0,
        description_texts=bolt11_descriptions,
        route_hint_lists=bolt11_route_hints,
    ),
    invoice_params(
        BOLT11_FALLBACK_CURRENCIES,
        max_fallbacks=1,
        description_texts=bolt11_descriptions,
        fallback_addresses=bolt11_fallbacks,
        route_hint_lists=bolt11_route_hints,
    ),
)


@SETTINGS
@given(invoice_params(ALL_CURRENCIES))
def test_decode_inverts_encode(params: InvoiceParams) -> None:
    invoice = params.create()
    assert decode_invoice(encode_invoice(invoice)) == invoice
    assert decode_invoice(encode_invoice(invoice, uppercase=True)) == invoice


@SETTINGS
@given(invoice_params(ALL_CURRENCIES))
def test_created_invoice_carries_the_given_fields(params: InvoiceParams) -> None:
    invoice = params.create()
    assert invoice.amount_msat == params.amount_msat
    assert (invoice.payment_hash, invoice.payment_secret) == (params.payment_hash, params.payment_secret)
    assert (invoice.description, invoice.description_hash) == (params.description, params.description_hash)
    assert invoice.expiry_seconds == (params.expiry_seconds or 3600)
    assert invoice.min_final_cltv_expiry_delta == (params.min_final_cltv_expiry_delta or 18)
    assert invoice.features == params.features
    assert invoice.route_hints == params.route_hints
    assert invoice.fallbacks == params.fallbacks
    assert invoice.payment_metadata == params.payment_metadata
    assert invoice.payee_node_id == params.node_id
    assert invoice.has_node_id_field == params.include_node_id
    assert invoice.signature.is_low_s


def _bolt11_feature_bits(features: Bolt11Features | None) -> set[int]:
    if features is None:
        return set()
    return {
        feature.value * 2 + (1 if state is FeatureState.supported else 0)
        for feature, state in features.feature_list.items()
    }


def _bolt11_hops(decoded: bolt11.Bolt11) -> tuple[tuple[RouteHintHop, ...], ...]:
    return tuple(
        tuple(
            RouteHintHop(
                pubkey=bytes.fromhex(route.public_key),
                short_channel_id=_scid(route.short_channel_id),
                fee_base_msat=route.base_fee,
                fee_proportional_millionths=route.ppm_fee,
                cltv_expiry_delta=route.cltv_expiry_delta,
            )
            for route in hint.routes
        )
        for hint in decoded.route_hints or []
    )


def _scid(text: str) -> int:
    block, tx_index, output = (int(part) for part in text.split("x"))
    return block << 40 | tx_index << 16 | output


@SETTINGS
@given(BOLT11_PARAMS)
def test_bolt11_package_decodes_what_we_encode(params: InvoiceParams) -> None:
    invoice = params.create()
    decoded = bolt11.decode(encode_invoice(invoice))
    assert decoded.currency == params.currency.value
    assert decoded.amount_msat == params.amount_msat
    assert decoded.date == params.timestamp
    assert decoded.payment_hash == params.payment_hash.hex()
    assert decoded.payment_secret == params.payment_secret.hex()
    assert decoded.description == (params.description or None)
    assert decoded.description_hash == (params.description_hash.hex() if params.description_hash else None)
    assert decoded.expiry == (params.expiry_seconds or 3600)
    assert decoded.min_final_cltv_expiry == (params.min_final_cltv_expiry_delta or 18)
    assert decoded.metadata == (params.payment_metadata.hex() if params.payment_metadata else None)
    assert decoded.payee == params.node_id.hex()
    assert _bolt11_hops(decoded) == params.route_hints
    assert _bolt11_feature_bits(decoded.features) == set(params.features.set_bits())
    if params.fallbacks:
        assert decoded.fallback is not None
        assert decoded.fallback.address == params.fallbacks[0].address(params.currency)


def _bolt11_invoice(params: InvoiceParams) -> bolt11.Bolt11:
    tags = Tags()
    tags.add(TagChar.payment_hash, params.payment_hash.hex())
    tags.add(TagChar.payment_secret, params.payment_secret.hex())
    if params.description is not None:
        tags.add(TagChar.description, params.description)
    else:
        assert params.description_hash is not None
        tags.add(TagChar.description_hash, params.description_hash.hex())
    if params.include_node_id:
        tags.add(TagChar.payee, params.node_id.hex())
    if params.expiry_seconds is not None:
        tags.add(TagChar.expire_time, params.expiry_seconds)
    if params.min_final_cltv_expiry_delta is not None:
        tags.add(TagChar.min_final_cltv_expiry, params.min_final_cltv_expiry_delta)
    for fallback in params.fallbacks:
        tags.add(
            TagChar.fallback,
            Bolt11Fallback.from_address(fallback.address(params.currency), params.currency.value),
        )
    for hint in params.route_hints:
        routes = [
            Route(
                hop.pubkey.hex(),
                scid_to_text(hop.short_channel_id),
                hop.fee_base_msat,
                hop.fee_proportional_millionths,
                hop.cltv_expiry_delta,
            )
            for hop in hint
        ]
        tags.add(TagChar.route_hint, RouteHint(routes))
    if params.payment_metadata is not None:
        tags.add(TagChar.metadata, params.payment_metadata.hex())
    if params.features.bits:
        value = params.features.bits
        words = (value.bit_length() + 4) // 5
        tags.add(TagChar.features, Bolt11Features.from_bitstring(BitArray(uint=value, length=5 * words)))
    amount = MilliSatoshi(params.amount_msat) if params.amount_msat is not None else None
    return bolt11.Bolt11(currency=params.currency.value, date=params.timestamp, tags=tags, amount_msat=amount)


@SETTINGS
@given(BOLT11_PARAMS)
def test_we_decode_what_the_bolt11_package_encodes(params: InvoiceParams) -> None:
    text = bolt11.encode(_bolt11_invoice(params), params.private_key.hex(), keep_payee=params.include_node_id)
    invoice = decode_invoice(text)
    expected = params.create()
    # Same fields in the same order, signed by the same RFC 6979 signer: the same invoice.
    assert invoice == expected
    assert encode_invoice(invoice) == text


def _decode_or_invoice_error(text: str) -> None:
    try:
        decode_invoice(text)
    except InvoiceError:
        return


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["lnbc", "lntb", "lnbcrt", "lnbc25m", "lnbc1p", "lnbc10p", "lnxy", "ln", "x"]),
    st.lists(st.integers(0, 31), max_size=400),
)
def test_any_checksummed_data_decodes_or_raises_an_invoice_error(hrp: str, words: list[int]) -> None:
    # Bad input is reported as an InvoiceError subclass, never as another exception type.
    _decode_or_invoice_error(bech32.bech32_encode(hrp, words, bech32.Encoding.BECH32, max_length=None))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_spec_invoice_decodes_or_raises_an_invoice_error(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(SPEC_INVOICES))
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.text(alphabet=bech32.CHARSET + "1AZ!é ", max_size=3))
    _decode_or_invoice_error(text[:position] + replacement + text[position + 1 :])
