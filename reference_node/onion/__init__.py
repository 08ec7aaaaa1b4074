"""BOLT 4 onion routing: Sphinx packets, hop payloads, failures (with attribution), route blinding.

Sans-I/O: pure functions and frozen dataclasses. Modules, one per spec area:
  sphinx            packet construction, filler, onion decryption (peeling) and its errors
  payload           the payment `payload` TLV stream and the reader's rules
  failure_messages  every `failure_code` with its data, encode/decode
  failure_packet    returning errors: erring node, intermediate hops, origin attribution
  attribution       `attribution_data` (hold times, truncated HMACs)
  route_blinding    blinded paths, `encrypted_data_tlv`, unblinding
  onion_message     onion messages over blinded paths
  forwarding        an update_add_htlc onion end to end: peel, read, unblind, amounts, failure code
  crypto            key generation (rho, mu, um, pad, ammag, ammagext), ChaCha20 stream, ECDH helpers
  wire_adapter      the one place the package imports reference_node.wire (BigSize, TLV, types)
"""
