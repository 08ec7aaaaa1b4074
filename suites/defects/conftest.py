"""suites/defects/ holds expectations (which requirements each deliberate defect of the reference node
must fail), not scenarios: keep pytest's scenario collection out of this folder."""

collect_ignore_glob = ["*.yaml"]
