"""Continuity: the replication journal now; snapshots, replication and drills build on it."""
