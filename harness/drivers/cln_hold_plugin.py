"""A Core Lightning plugin that withholds the preimages of HTLCs paid to its node, run by lightningd.

The harness's `hold_preimages` / `release_preimages` / `release_held_htlcs` controls for a cln node
(DESIGN.md "Faults": withhold a preimage). lightningd starts it from its config (`plugin=` this file,
with the harness's Python as interpreter: standard library only) and speaks JSON-RPC 2.0 with it over
stdin/stdout (doc/developers-guide/plugin-development: getmanifest, init, hooks, rpcmethods):

- hook `htlc_accepted`: while holding, an HTLC for which this node is the final hop (its onion has no
  `short_channel_id` to forward to) gets no answer, so lightningd neither fulfils nor fails it;
  forwards and every HTLC while not holding are answered `{"result": "continue"}` at once.
- method `boltcheck-hold`: hold from now on.
- method `boltcheck-release`: stop holding and answer every held HTLC `continue`: lightningd then
  settles it with the invoice's preimage, off chain, or, once the channel is on chain, through onchaind
  (an HTLC-success transaction: a preimage learned late).

It logs nothing of the HTLCs beyond their count (a preimage never passes through it).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

_CONTINUE = {"result": "continue"}


class HoldPlugin:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.holding = False
        self.held: list[Any] = []  # request ids of unanswered htlc_accepted calls

    def reply(self, request_id: Any, result: Any) -> None:
        self.out.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}) + "\n\n")
        self.out.flush()

    def handle(self, request: dict[str, Any]) -> None:
        method, request_id = request.get("method"), request.get("id")
        params = request.get("params") or {}
        if request_id is None:
            return  # a notification: none subscribed
        if method == "getmanifest":
            self.reply(request_id, manifest())
        elif method == "init":
            self.reply(request_id, {})
        elif method == "htlc_accepted":
            onion = params.get("onion", {}) if isinstance(params, dict) else {}
            if self.holding and "short_channel_id" not in onion:
                self.held.append(request_id)
            else:
                self.reply(request_id, _CONTINUE)
        elif method == "boltcheck-hold":
            self.holding = True
            self.reply(request_id, {"holding": True, "held": len(self.held)})
        elif method == "boltcheck-release":
            self.holding = False
            released, self.held = self.held, []
            for held_id in released:
                self.reply(held_id, _CONTINUE)
            self.reply(request_id, {"holding": False, "released": len(released)})
        else:
            error = {"code": -32601, "message": f"boltcheck hold plugin: no method {method!r}"}
            self.out.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}) + "\n\n")
            self.out.flush()


def manifest() -> dict[str, Any]:
    return {
        "options": [],
        "rpcmethods": [
            {"name": "boltcheck-hold", "usage": "", "description": "withhold preimages of HTLCs to us"},
            {"name": "boltcheck-release", "usage": "", "description": "settle the held HTLCs"},
        ],
        "hooks": [{"name": "htlc_accepted"}],
        "subscriptions": [],
        "nonnumericids": True,  # lightningd's JSON ids are strings (required since v23.05)
        "dynamic": False,
    }


def serve(source: TextIO, out: TextIO) -> None:
    """Read requests (JSON objects, lightningd separates them with blank lines) until stdin closes."""
    plugin = HoldPlugin(out)
    decoder = json.JSONDecoder()
    buffer = ""
    while True:
        chunk = source.readline()
        if not chunk:
            return
        buffer += chunk
        while True:
            text = buffer.lstrip()
            if not text:
                buffer = ""
                break
            try:
                request, end = decoder.raw_decode(text)
            except json.JSONDecodeError:
                break  # incomplete: read on
            buffer = text[end:]
            plugin.handle(request)


def plugin_script(python: str) -> str:
    """This module as an executable plugin file for lightningd (`plugin=`), run by `python`."""
    with open(__file__, encoding="utf-8") as source:
        return f"#!{python}\n" + source.read()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
