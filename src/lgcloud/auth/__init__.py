"""Clerks, roles, logins, lockout, quick switch at shared counters, sessions."""
