"""Small example models for the demo, the docs and the tests (built on demand, never downloaded)."""
