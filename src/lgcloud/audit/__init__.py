"""The tamper-evident audit trail: who did what to whom, hash-chained per town."""
