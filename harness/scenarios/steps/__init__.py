"""Step modules: each registers its steps with `harness.scenarios.registry.register_step` on import."""
