"""Operations: readiness checks, Prometheus metrics, request-scoped structured logs."""
