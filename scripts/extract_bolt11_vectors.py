"""Extract the BOLT 11 examples (11-payment-encoding.md, "Examples" and "Examples of Invalid Invoices")
into vectors/bolt11/valid.json and vectors/bolt11/invalid.json.

Every value comes from the spec text: the invoice line, the breakdown bullets (fields in invoice order,
their values, the signature breakdown) and the example's title. A breakdown entry written "..." means
"as in the examples before", so it inherits the last value stated for that field; the NB line gives the
signing key and the default payment_secret. Usage:

    .venv/bin/python scripts/extract_bolt11_vectors.py [path/to/11-payment-encoding.md]
"""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "spec" / "bolts" / "11-payment-encoding.md"
OUT_DIR = ROOT / "vectors" / "bolt11"
SPEC_COMMIT = "a3772650d8ebc06acf457fcadf97968ebfc4dfff"

TITLE = re.compile(r"^> #+ (.*)$")
INVOICE = re.compile(r"^(?:> )?((?:ln|LN)[0-9A-Za-z]+|pvjluez[0-9a-z]+)\s*$")
TOP_BULLET = re.compile(r"^\* `([^`]+)`: (.*)$")
SUB_BULLET = re.compile(r"^\s+\* (.*)$")
CODE = re.compile(r"`([^`]*)`")
# BOLT 11 "Human-Readable Part": the multiplier table, in bitcoin.
MULTIPLIER_BTC = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "n": Decimal("0.000000001"),
    "p": Decimal("0.000000000001"),
}
MSAT_PER_BTC = Decimal(100_000_000_000)
# Which error class each invalid example must raise (reference_node.invoice.errors), by title.
INVALID_ERRORS = {
    "Same, but adding invalid unknown feature 100": "UnknownEvenFeatureError",
    "Bech32 checksum is invalid.": "BadChecksumError",
    "Malformed bech32 string (no 1)": "NoSeparatorError",
    "Malformed bech32 string (mixed case)": "MixedCaseError",
    "Signature is not recoverable.": "UnrecoverableSignatureError",
    "String is too short.": "TooShortError",
    "Invalid multiplier": "BadMultiplierError",
    "Invalid sub-millisatoshi precision.": "SubMillisatoshiAmountError",
    "Missing required `s` field.": "MissingFieldError",
    "Non canonical signature (high-S) with 'n' field defined": "HighSSignatureError",
}


# Where the examples and the normative text at this commit disagree, or an example cannot be produced
# by a spec-conforming writer, the extractor records it (the vector check reads these keys).
SPEC_NOTES: dict[str, dict[str, Any]] = {
    "Same, but including fields which must be ignored.": {
        "field_length_rule": "skip",
        "note": "The p/h/s/n fields of the wrong data_length are 'ignored' here, as the reader rule said "
        "before lightning/bolts#1243; the requirement at this commit is 'MUST fail the payment if any "
        "field with fixed data_length (p, h, s, n) does not have the correct length'. The example decodes "
        "under the earlier rule and fails (WrongFieldLengthError) under the current one.",
    },
    "The same, on testnet, with a fallback address mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP": {
        "field_order": ["s", "h", "p", "f", "9"],
        "note": "The breakdown lists h, s, p, but the invoice string carries `sp5...` before `hp5...` "
        "before `pp5...`; field_order gives the order in the string (the breakdown's values are kept).",
    },
    "Please send 0.00967878534 BTC for a list of items within one week, amount in pico-BTC": {
        "field_order": ["p", "d", "s", "x", "c", "r", "9"],
        "note": "The breakdown lists `s` first, but in the invoice string `sp5...` comes after the `d` "
        "field; field_order gives the order in the string (the breakdown's values are kept).",
    },
    "Public-key recovery with high-S signature": {
        "resign": False,
        "note": "The signature is the first example's with S negated, but the recovery flag was kept at 1; "
        "for the negated S the flag would be 0. Recovery therefore succeeds but yields a key other than "
        "the one of priv_key, and the spec states no payee for this example. An RFC 6979 low-S signer "
        "cannot produce it, so it is re-encoded from its stated signature rather than re-signed.",
    },
}


def split_examples(lines: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    start = lines.index("# Examples")
    invalid_start = lines.index("# Examples of Invalid Invoices")
    end = lines.index("# Authors")

    def chunks(section: list[str]) -> list[list[str]]:
        out: list[list[str]] = []
        for line in section:
            if TITLE.match(line):
                out.append([line])
            elif out:
                out[-1].append(line)
        return out

    return chunks(lines[start:invalid_start]), chunks(lines[invalid_start:end])


def invoice_line(chunk: list[str]) -> str:
    found = [m.group(1) for line in chunk[1:] if (m := INVOICE.match(line))]
    if len(found) != 1:
        raise SystemExit(f"expected one invoice line under {chunk[0]!r}, found {len(found)}")
    return found[0]


def bullets(chunk: list[str]) -> list[tuple[str, str, list[str]]]:
    """Top-level breakdown bullets (code, text, sub-bullet texts) in order."""
    out: list[tuple[str, str, list[str]]] = []
    for line in chunk:
        if m := TOP_BULLET.match(line):
            out.append((m.group(1), m.group(2), []))
        elif (m := SUB_BULLET.match(line)) and out:
            out[-1][2].append(m.group(1))
    return out


def parse_valid(chunk: list[str], previous: dict[str, Any], defaults: dict[str, str]) -> dict[str, Any]:
    title = TITLE.match(chunk[0]).group(1)  # type: ignore[union-attr]
    invoice = invoice_line(chunk)
    if title.startswith("Same, but all upper case"):
        return {**previous, "title": title, "invoice": invoice, "uppercase": True, "signature": None}
    entries = bullets(chunk)
    if not entries:
        raise SystemExit(f"no breakdown under {title!r}")
    known = previous.get("_known", {}) if previous else {}
    known = dict(known)
    hrp_prefix = entries[0][0]
    amount_text: str | None = None
    amount_msat: int | None = None
    timestamp: int | None = None
    fields: list[dict[str, Any]] = []
    signature: dict[str, Any] | None = None
    for code, text, subs in entries[1:]:
        if code == "1":
            continue
        if "amount" in text and timestamp is None and code[0].isdigit():
            amount_text = code
            amount_msat = amount_to_msat(code, text)
            continue
        if "timestamp" in text:
            timestamp = int(re.search(r"\((\d+)\)", text).group(1))  # type: ignore[union-attr]
            continue
        if "Bech32 checksum" in text or text == "signature":
            continue
        if code == "Signature breakdown" or (text == "" and code.startswith("Signature")):
            continue
        if len(code) != 1:
            continue  # the signature words themselves, or the checksum
        fields.append(parse_field(code, text, subs, known, title, defaults))
    for line in chunk:
        if "hex of signature data" in line:
            signature = {"rs": CODE.search(line).group(1)}  # type: ignore[union-attr]
        elif "recovery flag" in line:
            signature["recovery_id"] = int(CODE.search(line).group(1))  # type: ignore[index,union-attr]
        elif "hex of data for signing" in line:
            signature["signing_data"] = CODE.search(line).group(1)  # type: ignore[index,union-attr]
        elif "hex of SHA256 of the preimage" in line:
            signature["signing_hash"] = CODE.search(line).group(1)  # type: ignore[index,union-attr]
    payee = re.search(r"to me @([0-9a-f]{66})", title)
    if payee:
        known["payee_node_id"] = payee.group(1)
    stated_payee = known.get("payee_node_id") if ("same peer" in title or payee) else None
    if title.startswith("Same"):
        stated_payee = previous.get("payee_node_id")
    return {
        "title": title,
        "invoice": invoice,
        "uppercase": False,
        "prefix": hrp_prefix,
        "amount": amount_text,
        "amount_msat": amount_msat,
        "timestamp": timestamp,
        "fields": fields,
        "signature": signature,
        "payee_node_id": stated_payee,
        **SPEC_NOTES.get(title, {}),
        "_known": known,
    }


def amount_to_msat(code: str, text: str) -> int:
    stated = re.search(r"= (\d+) milli satoshi", text)
    if stated:
        return int(stated.group(1))
    digits, multiplier = re.match(r"^(\d+)([munp]?)$", code).groups()  # type: ignore[union-attr]
    return int(Decimal(digits) * MULTIPLIER_BTC[multiplier] * MSAT_PER_BTC)


def parse_field(
    tag: str, text: str, subs: list[str], known: dict[str, Any], title: str, defaults: dict[str, str]
) -> dict[str, Any]:
    ignored = "(ignored)" in " ".join(subs) or "unknown field" in text
    codes = [CODE.findall(sub) for sub in subs]
    if ignored:
        # data_length code, then the data characters on the next sub-bullet (or after the version).
        data = "".join(c[0] for c in codes[1:] if c) if len(codes) > 1 else ""
        if tag == "f":  # `nqqq...`: version and program in one code span
            data = codes[1][0]
        return {"tag": tag, "ignored": True, "data_length": codes[0][0], "data": data}
    # "`p`: payment hash..." abbreviates the value the examples first stated (the common one).
    inherit = text.endswith("...")
    if tag == "p":
        if inherit:
            return {"tag": "p", "payment_hash": known["payment_hash"]}
        payment_hash = re.search(r"[0-9a-f]{64}", " ".join(subs) + text).group(0)  # type: ignore[union-attr]
        known.setdefault("payment_hash", payment_hash)
        return {"tag": "p", "payment_hash": payment_hash}
    if tag == "s":
        if inherit:
            return {"tag": "s", "payment_secret": defaults["payment_secret"]}
        secret = re.search(r"[0-9a-f]{64}", " ".join(subs)).group(0)  # type: ignore[union-attr]
        return {"tag": "s", "payment_secret": secret}
    if tag == "d":
        description = re.search(r": '(.*)'$", subs[1]).group(1).replace('\\"', '"')  # type: ignore[union-attr]
        return {"tag": "d", "description": description}
    if tag == "h":
        if inherit:
            return {"tag": "h", "description_hash": known["description_hash"]}
        description_hash = re.search(r"SHA256 hex: `([0-9a-f]{64})`", subs[1]).group(1)  # type: ignore[union-attr]
        known.setdefault("description_hash", description_hash)
        return {"tag": "h", "description_hash": description_hash}
    if tag == "x":
        return {"tag": "x", "expiry_seconds": int(re.search(r": (\d+) seconds", subs[1]).group(1))}  # type: ignore[union-attr]
    if tag == "c":
        return {"tag": "c", "min_final_cltv_expiry_delta": int(re.search(r"= (\d+)", subs[1]).group(1))}  # type: ignore[union-attr]
    if tag == "m":
        return {"tag": "m", "payment_metadata": re.search(r": 0x([0-9a-f]+)", subs[1]).group(1)}  # type: ignore[union-attr]
    if tag == "f":
        version = int(re.search(r"(\d+)", subs[1].split("`")[2]).group(1))  # type: ignore[union-attr]
        address = re.search(r"address (\S+)", title).group(1)  # type: ignore[union-attr]
        return {"tag": "f", "version": version, "program_words": codes[2][0], "address": address}
    if tag == "r":
        return {"tag": "r", "hops": parse_hops(subs)}
    if tag == "9":
        if inherit:
            return {"tag": "9", "feature_bits": known["feature_bits"]}
        # "Same, but ..." examples repeat the previous example's `9` text without the title listing it.
        if subs[1] == known.get("last_feature_text"):
            bits = known["last_feature_bits"]
        else:
            bits = feature_bits(subs, title)
        known.setdefault("feature_bits", bits)
        known["last_feature_text"], known["last_feature_bits"] = subs[1], bits
        return {"tag": "9", "feature_bits": bits}
    raise SystemExit(f"unhandled field {tag!r} under {title!r}")


def parse_hops(subs: list[str]) -> list[dict[str, Any]]:
    hops: list[dict[str, Any]] = []
    for sub in subs:
        sub = sub.replace("`", "")
        if m := re.match(r"pubkey: ([0-9a-f]{66})", sub):
            hops.append({"pubkey": m.group(1)})
        elif m := re.match(r"short_channel_id: (\d+x\d+x\d+)", sub):
            hops[-1]["short_channel_id"] = m.group(1)
        elif m := re.match(
            r"(fee_base_msat|fee_proportional_millionths|cltv_expiry_delta)\s*[:=]\s*(\d+)", sub
        ):
            hops[-1][m.group(1)] = int(m.group(2))
    return hops


def feature_bits(subs: list[str], title: str) -> list[int]:
    value_line = subs[1]
    if m := re.search(r"= ([\d +]+)$", value_line):
        return sorted(int(bit) for bit in m.group(1).split("+"))
    binary = re.search(r": b([01.]+)$", value_line).group(1)  # type: ignore[union-attr]
    if "." not in binary:
        return sorted(i for i, bit in enumerate(reversed(binary)) if bit == "1")
    # Abbreviated ("b1000....0001..."): the title lists the bits.
    listed = re.search(r"features ([\d, and]+)", title).group(1)  # type: ignore[union-attr]
    return sorted(int(bit) for bit in re.findall(r"\d+", listed))


def extract(spec_path: Path) -> dict[str, dict[str, Any]]:
    """The data files' contents, by file name, from the spec markdown."""
    lines = spec_path.read_text(encoding="utf-8").splitlines()
    nb = next(line for line in lines if line.startswith("NB: all the following examples are signed with"))
    payment_secret_line = next(
        line for line in lines if line.startswith("All invoices contain a `payment_secret`")
    )
    defaults = {
        "private_key": CODE.findall(nb)[1],
        "payment_secret": CODE.findall(payment_secret_line)[1],
    }
    valid_chunks, invalid_chunks = split_examples(lines)
    valid: list[dict[str, Any]] = []
    previous: dict[str, Any] = {}
    for chunk in valid_chunks:
        entry = parse_valid(chunk, previous, defaults)
        previous = entry
        valid.append(entry)
    for entry in valid:
        entry.pop("_known", None)
    invalid = []
    for chunk in invalid_chunks:
        title = TITLE.match(chunk[0]).group(1)  # type: ignore[union-attr]
        invalid.append({"title": title, "invoice": invoice_line(chunk), "error": INVALID_ERRORS[title]})
    source = {
        "bolt": 11,
        "spec_file": "11-payment-encoding.md",
        "spec_commit": SPEC_COMMIT,
        "extracted_by": "scripts/extract_bolt11_vectors.py",
    }
    return {
        "valid.json": {"source": {**source, "section": "Examples"}, **defaults, "examples": valid},
        "invalid.json": {
            "source": {
                **source,
                "section": "Examples of Invalid Invoices",
                "note": "'error' names the reference_node.invoice.errors class "
                "each example must raise, chosen from its title",
            },
            "examples": invalid,
        },
    }


def main() -> None:
    spec_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    files = extract(spec_path)
    for name, data in files.items():
        write(name, data)
    counts = {name: len(data["examples"]) for name, data in files.items()}
    print(f"{counts['valid.json']} valid, {counts['invalid.json']} invalid examples")


def write(name: str, data: dict[str, Any]) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (OUT_DIR / name).open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


if __name__ == "__main__":
    main()
