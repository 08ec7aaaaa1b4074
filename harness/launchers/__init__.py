"""Launchers for the implementations under test (cln, lnd) and the bitcoind they need.

- `options`: LaunchOptions (CLI flags / BOLTCHECK_* environment) and the flags `boltcheck run` adds.
- `process`: local binaries (`--cln-bin`, `--lnd-bin`, `--bitcoind-bin` or PATH) in temp dirs.
- `docker`: official images with pinned tags on a private network per run (the `docker` SDK).
- `attach`: nodes that already run (`--cln-rpc`, `--lnd-rest/--lnd-macaroon/--lnd-cert`).
- `session`: one chain and its nodes per scenario; the driver factories registered for "cln" and "lnd";
  `scenario_chain(workdir)` (a real bitcoind for `--chain bitcoind`) and `chain_for(workdir)`.
- `regtest`: the config files and command lines (fast, deterministic regtest settings).
"""
