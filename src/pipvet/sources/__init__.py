"""Dependency inputs: one module per format, each a pure parser (text in, Dependencies out)."""
