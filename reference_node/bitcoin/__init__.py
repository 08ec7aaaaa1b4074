"""The Bitcoin layer the BOLT 3 transactions are built on.

- tx: frozen `Tx`/`TxIn`/`TxOut`/`OutPoint`; `Tx.parse`, `serialize` (BIP144), `txid`, `wtxid`,
  `weight`, `vsize`.
- sighash: `bip143_sighash` (all `SighashType`s incl. SINGLE|ANYONECANPAY) and `legacy_sighash`.
- ecdsa: `sign_digest` (RFC6979, low-S, DER), `verify_digest`, `der_to_compact`/`compact_to_der`.
- script: `Op`, `build_script`, `push_data`, `push_int`, `script_num`, `parse_pushes`.
- address: P2WPKH/P2WSH/P2TR/P2PKH scriptPubKeys and addresses per `Network`.
- hashes: `sha256`, `sha256d`, `hash160`.
"""
