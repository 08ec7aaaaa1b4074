#!/usr/bin/env python3
"""Extract the BOLT 3 test vectors from 03-transactions.md into vectors/bolt03/*.json.

Usage: scripts/extract_bolt03_vectors.py [SPEC_DIR]   (default spec/bolts)

Every output file carries a "source" object (bolt, spec file, section, spec commit). Values are copied
as they appear in the spec; the only normalisation is dropping Bitcoin's trailing 0x01 "compressed"
marker from the 33-byte private keys of Appendices B and C (noted in each file's "notes").
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPEC_FILE = "03-transactions.md"
OUT_DIR = Path(__file__).resolve().parent.parent / "vectors" / "bolt03"


def source(section: str, commit: str) -> dict[str, Any]:
    return {"bolt": 3, "spec_file": SPEC_FILE, "section": section, "spec_commit": commit}


def section_text(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = re.search(r"^# (?:Appendix|References)", text[start + len(heading) :], re.M)
    end = start + len(heading) + nxt.start() if nxt else len(text)
    return text[start:end]


def strip_compressed_marker(privkey_hex: str) -> str:
    if len(privkey_hex) != 66 or not privkey_hex.endswith("01"):
        raise ValueError(f"expected a 33-byte key with trailing 01, got {privkey_hex}")
    return privkey_hex[:64]


def key_values(block: str) -> dict[str, str]:
    """`name: value` lines (indented by 4 spaces) of a block, first occurrence wins."""
    values: dict[str, str] = {}
    for match in re.finditer(r"^ {4}([A-Za-z0-9_ ]+?): (\S+)\s*$", block, re.M):
        values.setdefault(match.group(1), match.group(2))
    return values


def funding(text: str, commit: str) -> dict[str, Any]:
    block = section_text(text, "# Appendix B: Funding Transaction Test Vectors")
    kv = key_values(block)
    witness_script = re.search(r"# funding witness script = ([0-9a-f]+)", block)
    feerate = re.search(r"# feerate_per_kw: (\d+)", block)
    txid = re.search(r"# txid: ([0-9a-f]+)", block)
    assert witness_script and feerate and txid
    return {
        "source": source("Appendix B: Funding Transaction Test Vectors", commit),
        "notes": "block1_coinbase_privkey has the trailing 01 compressed-key marker removed",
        "block1_coinbase_tx": kv["Block 1 coinbase transaction"],
        "block1_coinbase_privkey": strip_compressed_marker(kv["Block 1 coinbase privkey"]),
        "local_funding_pubkey": kv["local_funding_pubkey"],
        "remote_funding_pubkey": kv["remote_funding_pubkey"],
        "funding_witness_script": witness_script.group(1),
        "input_txid": kv["input txid"],
        "input_index": int(kv["input index"]),
        "input_satoshis": int(kv["input satoshis"]),
        "funding_satoshis": int(kv["funding satoshis"]),
        "feerate_per_kw": int(feerate.group(1)),
        "change_satoshis": int(kv["change satoshis"]),
        "funding_output": int(kv["funding output"]),
        "funding_tx": kv["funding tx"],
        "funding_txid": txid.group(1),
    }


def commitment_legacy(text: str, commit: str) -> dict[str, Any]:
    block = section_text(text, "# Appendix C: Commitment and HTLC Transaction Test Vectors")
    head, _, body = block.partition("And, here are the test vectors themselves:")
    params: dict[str, Any] = {}
    htlcs: dict[int, dict[str, Any]] = {}
    for match in re.finditer(r"^ {4}([a-z_]+): (\S+)\s*$", head, re.M):
        params[match.group(1)] = match.group(2)
    for match in re.finditer(r"^ {4}htlc (\d+) ([a-z_]+): (\S+)\s*$", head, re.M):
        htlcs.setdefault(int(match.group(1)), {"id": int(match.group(1))})[match.group(2)] = match.group(3)
    internal = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^(?:INTERNAL: )?([a-z_]+): ([0-9a-f]+)$", head, re.M)
        if m.group(1).endswith(("privkey", "secret", "basepoint", "point"))
    }
    obscured = re.search(r"# obscured commitment number = 0x([0-9a-f]+) \^ (\d+)", head)
    assert obscured
    for name in list(params):
        if name.endswith("privkey"):
            params[name] = strip_compressed_marker(params[name])
    for name in list(internal):
        if name.endswith(("privkey", "secret")):
            internal[name] = strip_compressed_marker(internal[name])
    for number in (
        "funding_output_index",
        "funding_amount_satoshi",
        "commitment_number",
        "local_delay",
        "local_dust_limit_satoshi",
    ):
        params[number] = int(params[number])
    htlc_list = []
    for htlc_id in sorted(htlcs):
        h = htlcs[htlc_id]
        htlc_list.append(
            {
                "id": htlc_id,
                "direction": h["direction"],
                "amount_msat": int(h["amount_msat"]),
                "expiry": int(h["expiry"]),
                "payment_preimage": h["payment_preimage"],
            }
        )
    cases = [parse_legacy_case(chunk) for chunk in re.split(r"\n(?=    name: )", body) if "name:" in chunk]
    for case in cases:
        case["htlc_ids"] = htlc_ids_of(case["name"], [h["id"] for h in htlc_list])
    return {
        "source": source("Appendix C: Commitment and HTLC Transaction Test Vectors", commit),
        "notes": (
            "Private keys and secrets have the trailing 01 compressed-key marker removed. "
            "The 'internal' keys come from the HTML comment in Appendix C (values 'included for "
            "completeness'). HTLCs 5 and 6 are used only by the last case; 'untrimmed_htlc_ids' of a "
            "case lists the HTLC ids whose outputs it has."
        ),
        "params": params,
        "internal": internal,
        "obscuring_factor": obscured.group(1),
        "obscured_commitment_number": int(obscured.group(2)),
        "htlcs": htlc_list,
        "cases": cases,
    }


def htlc_ids_of(case_name: str, all_ids: list[int]) -> list[int]:
    """Appendix C: "the HTLCs are not used for the first 'simple commitment tx with no HTLCs' test, and
    HTLCs 5 and 6 are only used in the 'same amount and preimage' test". That last test commits HTLCs
    1, 5 and 6 only (its balances plus those HTLCs add up to the funding amount)."""
    if case_name.startswith("simple commitment tx with no HTLCs"):
        return []
    if "same amount and preimage" in case_name:
        return [1, 5, 6]
    return [i for i in all_ids if i not in (5, 6)]


def parse_legacy_case(chunk: str) -> dict[str, Any]:
    name = re.search(r"name: (.+)", chunk)
    assert name
    case: dict[str, Any] = {"name": name.group(1).strip()}
    for key in ("to_local_msat", "to_remote_msat", "local_feerate_per_kw", "num_htlcs"):
        m = re.search(rf"^ {{4}}{key}: (\d+)$", chunk, re.M)
        assert m, (key, case["name"])
        case[key] = int(m.group(1))
    for key, pattern in (
        ("base_fee_sat", "base commitment transaction fee"),
        ("actual_fee_sat", "actual commitment transaction fee"),
    ):
        m = re.search(rf"# {pattern} = (\d+)", chunk)
        if m:
            case[key] = int(m.group(1))
    remote = re.search(r"^ {4}remote_signature = ([0-9a-f]+)", chunk, re.M)
    local = re.search(r"^ {4}# local_signature = ([0-9a-f]+)", chunk, re.M)
    tx = re.search(r"output commit_tx: ([0-9a-f]+)", chunk)
    assert remote and local and tx
    case["remote_signature"] = remote.group(1)
    case["local_signature"] = local.group(1)
    case["commit_tx"] = tx.group(1)
    case["untrimmed_htlc_ids"] = sorted(
        {int(m) for m in re.findall(r"# HTLC #(\d+) (?:offered|received)", chunk)}
    )
    htlc_txs = []
    pattern = re.compile(
        r"# signature for output #(\d+) \(htlc-(success|timeout) for htlc #(\d+)\)\s+"
        r"remote_htlc_signature = ([0-9a-f]+)\s+# local_htlc_signature = ([0-9a-f]+)\s+"
        r"htlc_(success|timeout)_tx \(htlc #(\d+)\): ([0-9a-f]+)"
    )
    for m in pattern.finditer(chunk):
        assert m.group(2) == m.group(6) and m.group(3) == m.group(7)
        htlc_txs.append(
            {
                "output_index": int(m.group(1)),
                "kind": m.group(2),
                "htlc_id": int(m.group(3)),
                "remote_htlc_signature": m.group(4),
                "local_htlc_signature": m.group(5),
                "tx": m.group(8),
            }
        )
    case["htlc_txs"] = htlc_txs
    return case


def commitment_anchors(text: str, commit: str) -> dict[str, Any]:
    block = section_text(text, "# Appendix F: Commitment and HTLC Transaction Test Vectors (anchors)")
    body = re.search(r"```yaml\n(.*?)```", block, re.S)
    assert body
    cases = json.loads(body.group(1))
    for case in cases:
        # Derived, not in the spec: which Appendix C HTLCs "UseTestHtlcs" means for this case.
        case["htlc_ids"] = htlc_ids_of(case["Name"], list(range(7))) if case["UseTestHtlcs"] else []
    return {
        "source": source("Appendix F: Commitment and HTLC Transaction Test Vectors (anchors)", commit),
        "notes": (
            "Copied verbatim (the spec fences it as yaml; it is JSON). Keys, funding and HTLCs are "
            "Appendix C's (bolt03/commitment-legacy.json). LocalBalance/RemoteBalance are to_local/to_remote "
            "before the opener pays the commitment fee and the two anchors; HtlcDescs are in commitment "
            "output order. 'htlc_ids' is added by the extraction script (see htlc_ids_of)."
        ),
        "cases": cases,
    }


def shachain(text: str, commit: str) -> tuple[dict[str, Any], dict[str, Any]]:
    block = section_text(text, "# Appendix D: Per-commitment Secret Generation Test Vectors")
    generation_part, _, storage_part = block.partition("## Storage Tests")
    generation = []
    for chunk in re.split(r"\n(?=\s+name: )", generation_part):
        name = re.search(r"name: (.+)", chunk)
        if not name:
            continue
        seed = re.search(r"seed: 0x([0-9a-fA-F]+)", chunk)
        index = re.search(r"I: (0x[0-9a-fA-F]+|\d+)", chunk)
        output = re.search(r"output: 0x([0-9a-f]+)", chunk)
        assert seed and index and output
        generation.append(
            {
                "name": name.group(1).strip(),
                "seed": seed.group(1).lower(),
                "I": int(index.group(1), 0),
                "output": output.group(1),
            }
        )
    storage = []
    for chunk in re.split(r"\n(?=\s+name: )", storage_part):
        name = re.search(r"name: (.+)", chunk)
        if not name:
            continue
        steps = [
            {"I": int(m.group(1)), "secret": m.group(2), "output": m.group(3)}
            for m in re.finditer(r"I: (\d+)\s+secret: 0x([0-9a-f]+)\s+output: (OK|ERROR)", chunk)
        ]
        storage.append({"name": name.group(1).strip(), "steps": steps})
    return (
        {
            "source": source(
                "Appendix D: Per-commitment Secret Generation Test Vectors / Generation Tests", commit
            ),
            "cases": generation,
        },
        {
            "source": source(
                "Appendix D: Per-commitment Secret Generation Test Vectors / Storage Tests", commit
            ),
            "notes": "Steps go in order into one fresh store per case; ERROR means insert_secret must fail.",
            "cases": storage,
        },
    )


def key_derivation(text: str, commit: str) -> dict[str, Any]:
    block = section_text(text, "# Appendix E: Key Derivation Test Vectors")
    common = {m.group(1): m.group(2) for m in re.finditer(r"^ {4}([a-z_]+): 0x([0-9a-f]+)$", block, re.M)}
    cases = []
    for chunk in re.split(r"\n(?=    name: )", block):
        name = re.search(r"name: (.+)", chunk)
        if not name:
            continue
        result = re.search(r"^ {4}([a-z]+): 0x([0-9a-f]+)$", chunk, re.M)
        assert result
        cases.append(
            {"name": name.group(1).strip(), "output_name": result.group(1), "output": result.group(2)}
        )
    return {
        "source": source("Appendix E: Key Derivation Test Vectors", commit),
        "base_secret": common["base_secret"],
        "per_commitment_secret": common["per_commitment_secret"],
        "base_point": common["base_point"],
        "per_commitment_point": common["per_commitment_point"],
        "cases": cases,
    }


def fee_example(text: str, commit: str) -> dict[str, Any]:
    start = text.index("#### Example")
    block = text[start : text.index("### Fee Payment", start)]

    def number(pattern: str) -> int:
        m = re.search(pattern, block)
        assert m, pattern
        return int(m.group(1))

    offered = re.search(r"two offered HTLCs of (\d+) and (\d+) millisatoshis", block)
    received = re.search(r"two received HTLCs of (\d+) and (\d+) millisatoshis", block)
    assert offered and received
    trimmed = re.findall(
        r"The (offered|received) HTLC of (\d+) satoshis is below [^\n]* so it is trimmed", block
    )
    return {
        "source": source("Fees / Fee Calculation / Example", commit),
        "notes": "A worked example, not a transaction: HTLC fees, trimming and the base and actual fee.",
        "feerate_per_kw": number(r"`feerate_per_kw` of (\d+)"),
        "dust_limit_satoshis": number(r"`dust_limit_satoshis` of (\d+)"),
        "offered_htlcs_msat": [int(offered.group(1)), int(offered.group(2))],
        "received_htlcs_msat": [int(received.group(1)), int(received.group(2))],
        "htlc_timeout_weight": number(r"HTLC-timeout transaction `weight` is (\d+)"),
        "htlc_timeout_fee_sat": number(
            r"HTLC-timeout transaction `weight` is \d+, and thus the fee is (\d+)"
        ),
        "htlc_success_weight": number(r"HTLC-success transaction `weight` is (\d+)"),
        "htlc_success_fee_sat": number(
            r"HTLC-success transaction `weight` is \d+, and thus the fee is (\d+)"
        ),
        "commitment_start_weight": number(r"`weight` starts at (\d+)"),
        "commitment_weight": [int(w) for w in re.findall(r"`weight` increases to (\d+)", block)][-1],
        "trimmed_htlcs_sat": [{"direction": d, "amount_sat": int(a)} for d, a in trimmed],
        "base_fee_sat": number(r"base commitment transaction fee is (\d+) satoshi"),
        "actual_fee_sat": number(r"the actual\s+fee [\s\S]*? is (\d+) satoshi"),
    }


def wif_to_hex(wif: str) -> str:
    """Decode a (compressed-key) WIF private key with python-bitcoinlib: extraction-time only."""
    import bitcoin
    from bitcoin.wallet import CBitcoinSecret

    bitcoin.SelectParams("regtest")
    return bytes(CBitcoinSecret(wif))[:32].hex()


def dual_funded(text: str, commit: str) -> dict[str, Any]:
    block = section_text(text, "# Appendix G: Dual Funded Transaction Test Vectors")

    def one(pattern: str, flags: int = 0) -> str:
        m = re.search(pattern, block, flags)
        assert m, pattern
        return m.group(1)

    def sats(pattern: str) -> int:
        return int(one(pattern).replace(" ", ""))

    parent_tx = one(r"Parent transaction \(spends coinbase of block 1\):\n([0-9a-f]+)")
    inputs_text = one(r"\nInputs:\n```\n(.*?)```", re.S)
    inputs: list[dict[str, Any]] = []
    for chunk in re.split(r"\n(?=[0-9a-f]{64} \d+\n)", inputs_text.strip()):
        head = re.match(r"([0-9a-f]{64}) (\d+)\n", chunk)
        assert head
        entry: dict[str, Any] = {"txid": head.group(1), "vout": int(head.group(2))}
        for key in ("preimage", "witness_script"):
            m = re.search(rf"{key}: \d+ ([0-9a-f]+)", chunk)
            if m:
                entry[key] = m.group(1)
        for key in ("pubkey", "scriptPubKey"):
            m = re.search(rf"\b{key}: ([0-9a-f]+)", chunk)
            if m:
                entry[key] = m.group(1)
        m = re.search(r"privkey: (\w+)", chunk)
        if m:
            entry["privkey"] = wif_to_hex(m.group(1))
        inputs.append(entry)
    for owner, heading in (("opener", "Opener's `tx_add_input`"), ("accepter", "Accepter's `tx_add_input`")):
        part = one(rf"### Expected {re.escape(heading)}.*?```(.*?)```", re.S)
        serial_id = int(re.search(r"serial_id: (\d+)", part).group(1))  # type: ignore[union-attr]
        vout = int(re.search(r"prev_vout: (\d+)", part).group(1))  # type: ignore[union-attr]
        sequence = int(re.search(r"sequence: (\d+)", part).group(1))  # type: ignore[union-attr]
        for entry in inputs:
            if entry["vout"] == vout:
                entry.update(owner=owner, serial_id=serial_id, sequence=sequence)
    outputs = []
    for owner, heading in (
        ("opener", "Opener's `tx_add_output`"),
        ("accepter", "Accepter's `tx_add_output`"),
    ):
        part = one(rf"### Expected {re.escape(heading)}:.*?```(.*?)```", re.S)
        for m in re.finditer(
            r"serial_id: (\d+),\s+sats: (\d+),\s+scriptlen: (\d+),\s+script: \"?([0-9a-f]+)", part
        ):
            script_hex = m.group(4)
            # The vector's `script` carries a one-byte length prefix that `scriptlen` does not count.
            assert int(script_hex[:2], 16) == int(m.group(3)) == len(script_hex) // 2 - 1
            outputs.append(
                {
                    "owner": owner,
                    "serial_id": int(m.group(1)),
                    "sats": int(m.group(2)),
                    "script": script_hex[2:],
                }
            )
    witnesses = re.findall(r"witness_data: \"([0-9a-f]+)\"", block)
    assert len(witnesses) == 2
    return {
        "source": source("Appendix G: Dual Funded Transaction Test Vectors", commit),
        "notes": (
            "Input privkeys are decoded from WIF. Output scripts drop the one-byte length prefix "
            "the vector's `script` fields carry. The spec computes contributor_weight = 395 but then "
            "uses 398; both fees (155 and 100 sat) are the weights times the feerate rounded UP "
            "(609 and 395 wu)."
        ),
        "locktime": int(one(r"Locktime: (\d+)")),
        "feerate_per_kw": int(one(r"Feerate: (\d+) sat/kiloweight")),
        "opener_funding_satoshis": sats(r"Opener's `funding_satoshi`: ([\d ]+) sat"),
        "accepter_funding_satoshis": sats(r"Accepter's `funding_satoshi`: ([\d ]+) sat"),
        "parent_tx": parent_tx,
        "inputs": inputs,
        "outputs": outputs,
        "funding_pubkey1": one(r"pubkey1: ([0-9a-f]+)"),
        "funding_pubkey2": one(r"pubkey2: ([0-9a-f]+)"),
        "funding_witness_script": one(r"\nscript: (52[0-9a-f]+ae)\n"),
        "initiator_weight": int(one(r"initiator_weight = (\d+)\n")),
        "initiator_fees_sat": int(one(r"initiator_fees = (\d+) sats")),
        "contributor_weight": int(one(r"contributor_weight = (\d+)\n")),
        "contributor_fees_sat": int(one(r"contributor_fees = (\d+) sats")),
        "unsigned_tx": one(r"### Unsigned Funding Transaction:\s+```\s+([0-9a-f]+)"),
        "txid": one(r'txid: "([0-9a-f]+)"'),
        "opener_witness": witnesses[0],
        "accepter_witness": witnesses[1],
        "signed_tx": one(r"#### Signed Funding Transaction:.*?```\s+([0-9a-f]+)", re.S),
    }


def main() -> None:
    spec_dir = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "spec" / "bolts"
    )
    text = (spec_dir / SPEC_FILE).read_text(encoding="utf-8")
    commit = re.search(r"[0-9a-f]{40}", (spec_dir / "SOURCE.txt").read_text(encoding="utf-8"))
    assert commit
    generation, storage = shachain(text, commit.group(0))
    outputs = {
        "funding-tx.json": funding(text, commit.group(0)),
        "commitment-legacy.json": commitment_legacy(text, commit.group(0)),
        "commitment-anchors.json": commitment_anchors(text, commit.group(0)),
        "shachain-generation.json": generation,
        "shachain-storage.json": storage,
        "key-derivation.json": key_derivation(text, commit.group(0)),
        "fee-example.json": fee_example(text, commit.group(0)),
        "dual-funded.json": dual_funded(text, commit.group(0)),
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (OUT_DIR / name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT_DIR / name}")


if __name__ == "__main__":
    main()
