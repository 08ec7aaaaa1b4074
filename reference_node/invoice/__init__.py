"""BOLT 11 invoices.

- `decode_invoice(text)` -> `Invoice` (raises an `InvoiceError` subclass), `encode_invoice(invoice)`.
- `create_invoice(currency=..., payment_hash=..., payment_secret=..., timestamp=..., private_key=..., ...)`
  signs a new invoice; `sign_invoice(UnsignedInvoice(...), key)` signs an exact field list.
- `Invoice.check_payable(now)`, `Invoice.check_description(text)`.
"""

from reference_node.invoice.codec import decode_invoice, decode_unchecked, encode_invoice
from reference_node.invoice.errors import InvoiceError
from reference_node.invoice.fallback import FallbackAddress, FallbackKind
from reference_node.invoice.features import DEFAULT_INVOICE_FEATURES
from reference_node.invoice.fields import FieldLengthRule, TaggedField
from reference_node.invoice.hrp import Currency
from reference_node.invoice.invoice import (
    Invoice,
    UnsignedInvoice,
    create_invoice,
    read_invoice,
    sign_invoice,
)
from reference_node.invoice.route_hint import RouteHintHop
from reference_node.invoice.signature import InvoiceSignature

__all__ = [
    "DEFAULT_INVOICE_FEATURES",
    "Currency",
    "FallbackAddress",
    "FallbackKind",
    "FieldLengthRule",
    "Invoice",
    "InvoiceError",
    "InvoiceSignature",
    "RouteHintHop",
    "TaggedField",
    "UnsignedInvoice",
    "create_invoice",
    "decode_invoice",
    "decode_unchecked",
    "encode_invoice",
    "read_invoice",
    "sign_invoice",
]
