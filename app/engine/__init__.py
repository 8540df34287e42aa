"""SpiffWorkflow adapter: parsing, spec cache, running, state. Knows nothing of dossiers or databases."""
