"""The harness's Core Lightning plugin that withholds preimages, fed the JSON-RPC lightningd sends it
(the shapes of doc/developers-guide/plugin-development: getmanifest, init, the htlc_accepted hook)."""

from __future__ import annotations

import io
import json
from typing import Any

from harness.drivers.cln_hold_plugin import serve

FINAL_HOP = {"onion": {"payload": "", "total_msat": 1000}, "htlc": {"amount_msat": 1000}}
FORWARD = {"onion": {"payload": "", "short_channel_id": "103x1x0"}, "htlc": {"amount_msat": 1000}}


def answers(*requests: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    text = "".join(
        json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}) + "\n\n" for i, m, p in requests
    )
    out = io.StringIO()
    serve(io.StringIO(text), out)
    decoder, found, rest = json.JSONDecoder(), [], out.getvalue().lstrip()
    while rest:
        value, end = decoder.raw_decode(rest)
        found.append(value)
        rest = rest[end:].lstrip()
    return found


def test_the_manifest_registers_the_hook_and_both_methods_with_string_ids() -> None:
    (manifest,) = answers(("cln:getmanifest#1", "getmanifest", {}))
    result = manifest["result"]
    assert [h["name"] for h in result["hooks"]] == ["htlc_accepted"]
    assert {m["name"] for m in result["rpcmethods"]} == {"boltcheck-hold", "boltcheck-release"}
    assert result["nonnumericids"] is True


def test_htlcs_continue_at_once_when_not_holding() -> None:
    (reply,) = answers(("cln:htlc_accepted#1", "htlc_accepted", FINAL_HOP))
    assert reply == {"jsonrpc": "2.0", "id": "cln:htlc_accepted#1", "result": {"result": "continue"}}


def test_a_held_htlc_is_answered_only_on_release_and_forwards_are_never_held() -> None:
    replies = answers(
        ("h", "boltcheck-hold", {}),
        ("a", "htlc_accepted", FINAL_HOP),
        ("f", "htlc_accepted", FORWARD),
        ("r", "boltcheck-release", {}),
    )
    assert [r["id"] for r in replies] == ["h", "f", "a", "r"]
    assert replies[2]["result"] == {"result": "continue"}
    assert replies[3]["result"] == {"holding": False, "released": 1}
