"""boltcheck's harness: chains, drivers, scenarios, the requirement catalog, reports and the CLI."""
