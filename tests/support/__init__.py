"""Helpers shared by the tests: projects, the CLI, an SMTP server, reference computations."""
