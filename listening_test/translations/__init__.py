"""Shipped translations of the participant-facing texts (one YAML file per language)."""
