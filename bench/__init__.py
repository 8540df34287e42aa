"""Step-throughput benchmark of motcua against raw SpiffWorkflow: `python -m bench.run` (not a test)."""
