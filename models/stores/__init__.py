"""Stores (licensed facilities), their settings, and their opening hours."""
