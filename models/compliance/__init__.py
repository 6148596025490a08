"""Reporting sales to the state: the compliance outbox."""
