"""BOLT 3 keys.

- derivation: `derive_pubkey`, `derive_privkey`, `derive_revocation_pubkey`, `derive_revocation_privkey`,
  `per_commitment_point`.
- shachain: `generate_from_seed`, `per_commitment_secret(seed, n)`, `PerCommitmentSecretStore`
  (`insert_secret` raises `InconsistentSecretError`; `derive_old_secret`).
- channel_keys: `ChannelKeys.from_seed(seed)` (secrets), `.basepoints()` -> `ChannelBasepoints` (public),
  `CommitmentKeys.derive(per_commitment_point, holder, counterparty)`.
"""
