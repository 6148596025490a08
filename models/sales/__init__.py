"""Selling at the register: orders, sales, returns, the cash drawer, check-in, the dashboard."""
