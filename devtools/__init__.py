"""Developer tooling shared by tests and benchmarks (not imported by the app)."""
