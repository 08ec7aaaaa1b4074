"""The BOLT 11 `Invoice` value: typed fields read from the exact tagged fields the signature covers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from coincurve import PrivateKey

from reference_node.invoice.errors import (
    BadTimestampError,
    ConflictingFieldsError,
    DescriptionHashMismatchError,
    InvoiceExpiredError,
    MissingFieldError,
)
from reference_node.invoice.fallback import FallbackAddress
from reference_node.invoice.features import (
    DEFAULT_INVOICE_FEATURES,
    check_feature_dependencies,
    check_known_features,
)
from reference_node.invoice.fields import (
    DEFAULT_EXPIRY_SECONDS,
    DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
    Description,
    DescriptionHash,
    Expiry,
    Fallback,
    FeaturesField,
    MinFinalCltvExpiryDelta,
    PayeeNodeId,
    PaymentHash,
    PaymentMetadata,
    PaymentSecret,
    RouteHint,
    TaggedField,
    encode_field,
)
from reference_node.invoice.hrp import Currency, format_hrp
from reference_node.invoice.route_hint import RouteHintHop
from reference_node.invoice.signature import (
    InvoiceSignature,
    recover_node_id,
    sign,
    signing_hash,
    verify_with_node_id,
)
from reference_node.invoice.words import Words, int_to_words
from reference_node.wire.features import Features

_T = TypeVar("_T")
TIMESTAMP_WORDS = 7  # 35 bits


@dataclass(frozen=True)
class UnsignedInvoice:
    """Everything the signature covers: the human-readable part, timestamp and tagged fields, in order."""

    currency: Currency
    amount_msat: int | None
    timestamp: int
    tagged_fields: tuple[TaggedField, ...]

    def __post_init__(self) -> None:
        # "`timestamp`: seconds-since-1970 (35 bits, big-endian)".
        if not 0 <= self.timestamp < 1 << (5 * TIMESTAMP_WORDS):
            raise BadTimestampError(f"timestamp {self.timestamp} does not fit in 35 bits")

    @property
    def hrp(self) -> str:
        return format_hrp(self.currency, self.amount_msat)

    def data_words(self) -> Words:
        """The data part up to the start of the signature."""
        words: list[int] = list(int_to_words(self.timestamp, TIMESTAMP_WORDS))
        for field in self.tagged_fields:
            words.extend(encode_field(field))
        return tuple(words)

    def signing_hash(self) -> bytes:
        return signing_hash(self.hrp, self.data_words())


@dataclass(frozen=True)
class Invoice:
    """A decoded (or freshly signed) invoice. Build it with `read_invoice`, `sign_invoice` or
    `create_invoice` so that the typed fields always agree with `tagged_fields`."""

    currency: Currency
    amount_msat: int | None
    timestamp: int
    payment_hash: bytes
    payment_secret: bytes
    description: str | None
    description_hash: bytes | None
    expiry_seconds: int  # 3600 when there is no `x` field
    min_final_cltv_expiry_delta: int  # 18 when there is no `c` field
    features: Features
    route_hints: tuple[tuple[RouteHintHop, ...], ...]  # one route per `r` field, most preferred first
    fallbacks: tuple[FallbackAddress, ...]  # known versions, most preferred first
    payment_metadata: bytes | None
    payee_node_id: bytes  # from `n`, or recovered from the signature
    has_node_id_field: bool
    signature: InvoiceSignature
    tagged_fields: tuple[TaggedField, ...]

    @property
    def unsigned(self) -> UnsignedInvoice:
        return UnsignedInvoice(self.currency, self.amount_msat, self.timestamp, self.tagged_fields)

    @property
    def expires_at(self) -> int:
        return self.timestamp + self.expiry_seconds

    def is_expired(self, now: int) -> bool:
        """Whether `timestamp` + `expiry` has passed at `now` (seconds since 1970; never the wall clock
        implicitly: the spec's examples are from 2017)."""
        return now > self.expires_at

    def check_description(self, description: str) -> None:
        """BOLT 11: "MUST check that the SHA2 256-bit hash in the `h` field exactly matches the hashed
        description"."""
        if self.description_hash is None:
            raise MissingFieldError("the invoice has no `h` field to check a description against")
        if hashlib.sha256(description.encode("utf-8")).digest() != self.description_hash:
            raise DescriptionHashMismatchError("SHA256 of the description does not match the `h` field")

    def check_payable(self, now: int) -> None:
        """Payer rules: not after `timestamp` + `expiry`; not without all feature dependencies."""
        if self.is_expired(now):
            raise InvoiceExpiredError(f"invoice expired at {self.expires_at}, now is {now}")
        check_feature_dependencies(self.features)


def read_invoice(unsigned: UnsignedInvoice, signature: InvoiceSignature) -> Invoice:
    """Apply the BOLT 11 reader rules to the tagged fields and check the signature."""
    fields = unsigned.tagged_fields
    payment_hash = _first(fields, PaymentHash)
    payment_secret = _first(fields, PaymentSecret)
    descriptions = [field for field in fields if isinstance(field, Description)]
    description_hashes = [field for field in fields if isinstance(field, DescriptionHash)]
    feature_field = _first(fields, FeaturesField)
    features = feature_field.features if feature_field else Features()
    check_known_features(features)
    if payment_hash is None:
        raise MissingFieldError("no `p` (payment_hash) field")
    # "if a valid `s` field is not provided: MUST fail the payment."
    if payment_secret is None:
        raise MissingFieldError("no `s` (payment_secret) field")
    # "MUST fail the payment if neither a `d` field nor a `h` field is present, or if both are present."
    if descriptions and description_hashes:
        raise ConflictingFieldsError("both `d` and `h` fields are present")
    if not descriptions and not description_hashes:
        raise MissingFieldError("neither a `d` nor an `h` field is present")
    message_hash = unsigned.signing_hash()
    node_id_field = _first(fields, PayeeNodeId)
    if node_id_field is not None:
        # "if a valid `n` field is provided: MUST use the `n` field to validate the signature instead of
        # performing public-key recovery" (and MUST fail a signature that is not low-S).
        verify_with_node_id(signature, message_hash, node_id_field.node_id)
        payee_node_id = node_id_field.node_id
    else:
        payee_node_id = recover_node_id(signature, message_hash)
    expiry = _first(fields, Expiry)
    min_final = _first(fields, MinFinalCltvExpiryDelta)
    metadata = _first(fields, PaymentMetadata)
    return Invoice(
        currency=unsigned.currency,
        amount_msat=unsigned.amount_msat,
        timestamp=unsigned.timestamp,
        payment_hash=payment_hash.payment_hash,
        payment_secret=payment_secret.payment_secret,
        description=descriptions[0].description if descriptions else None,
        description_hash=description_hashes[0].description_hash if description_hashes else None,
        expiry_seconds=expiry.expiry_seconds if expiry else DEFAULT_EXPIRY_SECONDS,
        min_final_cltv_expiry_delta=(
            min_final.min_final_cltv_expiry_delta if min_final else DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA
        ),
        features=features,
        route_hints=tuple(field.hops for field in fields if isinstance(field, RouteHint)),
        fallbacks=tuple(field.fallback for field in fields if isinstance(field, Fallback)),
        payment_metadata=metadata.payment_metadata if metadata else None,
        payee_node_id=payee_node_id,
        has_node_id_field=node_id_field is not None,
        signature=signature,
        tagged_fields=fields,
    )


def sign_invoice(unsigned: UnsignedInvoice, private_key: bytes) -> Invoice:
    """Sign (RFC 6979, low-S) and read back, so a signed invoice obeys the same rules as a decoded one."""
    return read_invoice(unsigned, sign(unsigned.signing_hash(), private_key))


def create_invoice(
    *,
    currency: Currency,
    payment_hash: bytes,
    payment_secret: bytes,
    timestamp: int,
    private_key: bytes,
    amount_msat: int | None = None,
    description: str | None = None,
    description_hash: bytes | None = None,
    expiry_seconds: int | None = None,
    min_final_cltv_expiry_delta: int | None = None,
    features: Features = DEFAULT_INVOICE_FEATURES,
    route_hints: Iterable[tuple[RouteHintHop, ...]] = (),
    fallbacks: Iterable[FallbackAddress] = (),
    payment_metadata: bytes | None = None,
    include_node_id: bool = False,
) -> Invoice:
    """A writer's invoice, fields in a fixed order: p, s, d|h, n, x, c, f..., r..., m, 9.

    `expiry_seconds` / `min_final_cltv_expiry_delta` left as None omit `x` / `c` (the spec defaults
    apply). Route hints and fallbacks are written most preferred first, in the order given.
    """
    if (description is None) == (description_hash is None):
        raise ConflictingFieldsError("a writer includes exactly one of `d` (description) or `h`")
    fields: list[TaggedField] = [PaymentHash(payment_hash), PaymentSecret(payment_secret)]
    if description is not None:
        fields.append(Description(description))
    else:
        fields.append(DescriptionHash(description_hash or b""))
    if include_node_id:
        fields.append(PayeeNodeId(PrivateKey(private_key).public_key.format(compressed=True)))
    if expiry_seconds is not None:
        fields.append(Expiry(expiry_seconds))
    if min_final_cltv_expiry_delta is not None:
        fields.append(MinFinalCltvExpiryDelta(min_final_cltv_expiry_delta))
    fields.extend(Fallback(fallback) for fallback in fallbacks)
    fields.extend(RouteHint(tuple(hops)) for hops in route_hints)
    if payment_metadata is not None:
        fields.append(PaymentMetadata(payment_metadata))
    if features.bits:
        fields.append(FeaturesField(features))
    return sign_invoice(UnsignedInvoice(currency, amount_msat, timestamp, tuple(fields)), private_key)


def _first(fields: tuple[TaggedField, ...], kind: type[_T]) -> _T | None:
    for field in fields:
        if isinstance(field, kind):
            return field
    return None
