"""Properties of the embedded chain under arbitrary use (hypothesis).

- Whatever sequence of mining, funding, spending, invalidating and reorganising happens, the incrementally
  kept index (UTXO set, tx index, active chain) equals a from-scratch replay and matches the kernel's chain.
- Every RPC method answers any parameters with a result or a bitcoind JSON-RPC error, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.chain import EmbeddedChain, OutPoint, TxRejected
from harness.chain.rpc_methods import ChainRpc, RpcMethodError
from harness.chain.testkit import SpendOutput, TestKey

KEY = TestKey(b"property-key")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("mine"), st.integers(1, 3)),
        st.tuples(st.just("fund"), st.integers(1_000, 5_000_000)),
        st.tuples(st.just("spend"), st.integers(0, 10)),
        st.tuples(st.just("invalidate"), st.integers(1, 3)),
        st.tuples(st.just("reorg"), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_index_equals_a_replay_after_any_operations(ops: list[tuple[str, int]]) -> None:
    with EmbeddedChain(seed=b"property") as chain:
        chain.mine(101)
        funded: list[tuple[str, int]] = []
        for op, value in ops:
            if op == "mine":
                chain.mine(value)
            elif op == "fund":
                outpoint = chain.fund(KEY.address, value)
                funded.append((outpoint.txid, value))
            elif op == "spend" and funded:
                txid, amount = funded[value % len(funded)]
                raw = KEY.spend([(OutPoint(txid, 0), amount)], [SpendOutput(KEY.script_pubkey, amount - 500)])
                try:
                    chain.send_raw(raw)
                except TxRejected as exc:
                    # Already spent or confirmed, reorged away, or an RBF loser: all legitimate here.
                    legitimate = ("bad-txns-inputs-missingorspent", "insufficient fee", "txn-already-known")
                    assert exc.reason.startswith(legitimate)
            elif op == "invalidate" and chain.height() > value:
                chain.invalidate_block(chain.block_hash(chain.height() - value + 1))
            elif op == "reorg" and chain.height() > value:
                chain.reorg(value)
            chain.audit()


@pytest.fixture(scope="module")
def rpc() -> Iterator[ChainRpc]:
    with EmbeddedChain(seed=b"rpc-property") as chain:
        chain.mine(3)
        yield ChainRpc(chain, lambda: None)


METHODS = sorted(
    name[4:]
    for name in dir(ChainRpc)
    if name.startswith("rpc_") and name not in ("rpc_stop", "rpc_waitforblockheight", "rpc_waitfornewblock")
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40).filter(lambda n: not 10 < n < 2**40)  # no 2**40-block generate calls
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70)
    | st.sampled_from(["00" * 32, "0200", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "1e-9"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(METHODS), params=st.lists(json_values, max_size=4))
def test_every_method_answers_any_params_with_a_result_or_an_rpc_error(
    rpc: ChainRpc, method: str, params: list[object]
) -> None:
    try:
        rpc.call(method, params)
    except RpcMethodError as exc:
        assert isinstance(exc.code, int) and exc.message
