"""Script forms BOLT 2 allows in `shutdown` and the dust thresholds BOLT 3 gives for them."""

from __future__ import annotations

OP_0 = 0x00
OP_1 = 0x51
OP_16 = 0x60
OP_RETURN = 0x6A
OP_PUSHDATA1 = 0x4C


def is_op_return(script: bytes) -> bool:
    return len(script) > 0 and script[0] == OP_RETURN


def is_valid_shutdown_script(script: bytes, anysegwit: bool, simple_close: bool) -> bool:
    """BOLT 2 `shutdown`: "MUST set `scriptpubkey` in one of the following forms"."""
    if len(script) == 22 and script[0] == OP_0 and script[1] == 20:
        return True
    if len(script) == 34 and script[0] == OP_0 and script[1] == 32:
        return True
    if anysegwit and len(script) >= 4 and OP_1 <= script[0] <= OP_16 and 2 <= script[1] <= 40:
        return len(script) == 2 + script[1]
    if simple_close and is_op_return(script) and len(script) >= 2:
        if 6 <= script[1] <= 75:
            return len(script) == 2 + script[1]
        if script[1] == OP_PUSHDATA1 and len(script) >= 3 and 76 <= script[2] <= 80:
            return len(script) == 3 + script[2]
    return False


def dust_threshold_sat(script: bytes) -> int:
    """BOLT 3 "Dust Limits" (Bitcoin Core's thresholds at 3000 sat/kvB)."""
    if is_op_return(script):
        return 0
    if len(script) == 25 and script[0] == 0x76:  # p2pkh
        return 546
    if len(script) == 23 and script[0] == 0xA9:  # p2sh
        return 540
    if len(script) == 22 and script[0] == OP_0:  # p2wpkh
        return 294
    if len(script) == 34 and script[0] == OP_0:  # p2wsh
        return 330
    return 354  # unknown segwit versions


def closing_weight(scripts: list[bytes]) -> int:
    """Expected weight of a 2-of-2 funding spend paying `scripts` (used for a default closing fee)."""
    outputs = sum(8 + 1 + len(s) for s in scripts)
    base = 4 + 1 + 41 + 1 + outputs + 4
    witness = 2 + 1 + 1 + 73 + 73 + 1 + 71
    return base * 4 + witness
