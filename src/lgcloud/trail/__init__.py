"""The tail of every write: its audit entry and its journal entry, in its transaction."""
