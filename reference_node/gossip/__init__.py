"""BOLT 7 gossip (announcements, graph, queries) and pathfinding over the graph.

Pure: no sockets, no clocks. Timestamps, "now" (seconds), block heights and the chain lookup are
parameters; the node calls in with messages and gets values/messages back.

Building and signing (announcements.py, signing.py, addresses.py)
    ChannelPolicy(cltv_expiry_delta, htlc_minimum_msat, htlc_maximum_msat, fee_base_msat,
        fee_proportional_millionths).fee_msat(amount_to_forward_msat)
    unsigned_channel_announcement(...), build_node_announcement(...), build_channel_update(...)
        (OriginError when an origin requirement would be broken); direction_of(node_id, other_node_id)
    channel_update_checksum(update) (CRC32C without signature and timestamp)
    verify_channel_announcement / verify_node_announcement / verify_channel_update
        (InvalidSignatureError naming the field)
    AddressDescriptor.ipv4/ipv6/tor_v3/dns, encode_addresses, parse_addresses -> ParsedAddresses

announcement_signatures exchange (announcement_signatures.py)
    AnnouncementInfo(...); make_announcement_signatures(info, node_secret=, funding_secret=)
    complete_channel_announcement(info, ours, theirs) -> ChannelAnnouncement

Graph (graph.py, records.py, persist.py)
    ChannelGraph(chain_hash, confirmation_slack=0, max_future_seconds=86400)
        receive_channel_announcement(msg, lookup=FundingLookup, now=) / receive_channel_update(msg, now=)
        / receive_node_announcement(msg) -> GossipResult(verdict, reason: IgnoreReason, to_relay)
        raise a GossipWarning subclass where BOLT 7 says "SHOULD send a warning".
        add_local_channel(...), add_own_announcement(...), mark_spent / unmark_spent, forget_spent(height),
        prune_stale(now), channel(scid), channels(), node(node_id), nodes()
    FundingLookup = Callable[[ShortChannelId], FundingOutput | None]
    dump_graph(graph) -> JSON-compatible dict; load_graph(data) -> ChannelGraph

What to send a peer (outbox.py)
    GossipOutbox(chain_hash): receive_filter(gossip_timestamp_filter, graph) -> backlog;
        queue_relayed(result.to_relay); queue_own(messages); flush() -> messages in order
    messages_in_range(graph, TimestampFilter), no_gossip_filter(chain_hash)

Gossip queries (queries.py: answering; sync.py: asking)
    answer_query_short_channel_ids(graph, msg) -> [..., reply_short_channel_ids_end]
    answer_query_channel_range(graph, msg) -> [reply_channel_range, ...]   (QueryError if malformed)
    ChannelRangeQuery(chain_hash, first_blocknum, number_of_blocks, query_option_flags)
        .message(), .receive(reply) -> complete?, .entries()
    short_ids_to_query(graph, entries) -> [(scid, query_flag)], build_short_id_queries(...), ShortIdQueryGate

Pathfinding (route.py, pathfinding.py, mission_control.py, mpp.py)
    edges_from_graph(graph), unroutable_nodes(graph), edges_from_route_hints(hints, destination)
    RouteRequest(source, destination, amount_msat, final_cltv_value, max_hops=20, ...)
    find_route(edges, request, local_channels=, mission_control=, unroutable=) -> Route
        Route.hops[i]: node_id, short_channel_id, amount_to_forward_msat, outgoing_cltv_value, fee_msat;
        Route.amount_msat / cltv_expiry: the first update_add_htlc's
    build_route(edges, amount_msat, final_cltv_value) for a given path
    MissionControl.learn_from_failure(route, erring_index, failure_code, now=)
    policy_from_failure(route, erring_index, FailureMessage) -> override for RouteRequest.policy_overrides
    split_payment(edges, request, ...) -> tuple[Route, ...] (multi-part)
"""
