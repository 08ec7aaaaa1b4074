"""The payer's onion (reference_node/pay/onion.py) peeled hop by hop as each forwarding node does
(`process_htlc_onion`), for random routes of 1 to 20 hops: every hop reads the amount, expiry and next
channel the route says, every forwarding hop's checks pass with the policy the route was built from, and
a failure created at any hop is attributed to that hop by the payer (hypothesis)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.forwarding.checks import IncomingForward, OutgoingChannel, check_forward
from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.route import Route, RouteEdge, build_route
from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.onion.failure_packet import ReturnedFailure, create_failure, forward_failure
from reference_node.onion.forwarding import process_htlc_onion
from reference_node.onion.payload import FinalPayload, ForwardPayload
from reference_node.onion.sphinx import OnionPacket
from reference_node.pay.onion import read_failure, route_onion
from reference_node.wire import ShortChannelId

HEIGHT = 700_000
PAYMENT_HASH = hashlib.sha256(b"route onion property").digest()
SECRET = hashlib.sha256(b"route onion secret").digest()
SESSION_KEY = hashlib.sha256(b"route onion session").digest()

policies = st.builds(
    ChannelPolicy,
    cltv_expiry_delta=st.integers(min_value=6, max_value=144),
    htlc_minimum_msat=st.just(1),
    htlc_maximum_msat=st.just(10**12),
    fee_base_msat=st.integers(min_value=0, max_value=5_000),
    fee_proportional_millionths=st.integers(min_value=0, max_value=5_000),
)


def _secret(index: int) -> bytes:
    return hashlib.sha256(b"hop %d" % index).digest()


def _route(hop_policies: list[ChannelPolicy], amount_msat: int) -> Route:
    nodes = [public_key_of(_secret(i)) for i in range(len(hop_policies) + 1)]
    edges = [
        RouteEdge(ShortChannelId(600_000 + i, 1, 0), nodes[i], nodes[i + 1], hop_policies[i])
        for i in range(len(hop_policies))
    ]
    return build_route(edges, amount_msat, HEIGHT + 18)


@settings(max_examples=25, deadline=None)
@given(st.lists(policies, min_size=1, max_size=20), st.integers(min_value=1_000, max_value=10**9))
def test_every_hop_reads_what_the_route_says_and_its_checks_pass(
    hop_policies: list[ChannelPolicy], amount_msat: int
) -> None:
    route = _route(hop_policies, amount_msat)
    onion = route_onion(SESSION_KEY, route, PAYMENT_HASH, SECRET, amount_msat)
    amount, cltv = route.amount_msat, route.cltv_expiry
    for index, hop in enumerate(route.hops):
        peeled = process_htlc_onion(onion, _secret(index + 1), PAYMENT_HASH, amount, cltv)
        assert peeled.amt_to_forward_msat == hop.amount_to_forward_msat
        assert peeled.outgoing_cltv_value == hop.outgoing_cltv_value
        if index + 1 == len(route.hops):
            assert isinstance(peeled.payload, FinalPayload)
            assert peeled.payload.payment_secret == SECRET and peeled.payload.total_msat == amount_msat
            break
        assert isinstance(peeled.payload, ForwardPayload)
        assert peeled.payload.short_channel_id == route.hops[index + 1].short_channel_id
        # the forwarding node's own policy is that of its outgoing edge
        outgoing = OutgoingChannel(0, route.edges[index + 1].policy, True, False, 10**12, b"")
        request = IncomingForward(amount, cltv, peeled.amt_to_forward_msat, peeled.outgoing_cltv_value)
        assert check_forward(request, outgoing, HEIGHT) is None
        assert peeled.next_onion is not None
        onion = peeled.next_onion.to_bytes()
        amount, cltv = peeled.amt_to_forward_msat, peeled.outgoing_cltv_value
    assert OnionPacket.from_bytes(onion)  # still a well-formed 1366-byte packet at the last hop


@settings(max_examples=25, deadline=None)
@given(st.lists(policies, min_size=1, max_size=20), st.data())
def test_a_failure_from_any_hop_is_attributed_to_that_hop(
    hop_policies: list[ChannelPolicy], data: st.DataObject
) -> None:
    route = _route(hop_policies, 50_000)
    onion = route_onion(SESSION_KEY, route, PAYMENT_HASH, SECRET, 50_000)
    erring = data.draw(st.integers(min_value=0, max_value=len(route.hops) - 1))
    secrets = []
    amount, cltv = route.amount_msat, route.cltv_expiry
    for index in range(erring + 1):
        peeled = process_htlc_onion(onion, _secret(index + 1), PAYMENT_HASH, amount, cltv)
        secrets.append(peeled.shared_secret)
        if peeled.next_onion is not None:
            onion = peeled.next_onion.to_bytes()
            amount, cltv = peeled.amt_to_forward_msat, peeled.outgoing_cltv_value
    failure: ReturnedFailure = create_failure(
        secrets[erring], FailureMessage(FailureCode.temporary_node_failure)
    )
    for index in range(erring - 1, -1, -1):
        failure = forward_failure(secrets[index], failure)
    read = read_failure(SESSION_KEY, route, failure.reason)
    assert read.erring_index == erring
    assert read.failure_code == FailureCode.temporary_node_failure
