"""Customers, staff, and proving who someone is: accounts, IDs, medical cards, PINs, sign-in."""
