"""Shared plumbing: the audit log, encryption, passwords, transactions, numbers, mail."""
