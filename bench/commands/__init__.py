"""Subcommands of the ``bench`` CLI (one module each)."""
