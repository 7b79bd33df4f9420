"""Backups of the database and their restore (gateway/backups/capability.py)."""
