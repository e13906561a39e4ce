"""End-to-end tests: the CLI in-process and as a subprocess, HTTP on 127.0.0.1 only."""
