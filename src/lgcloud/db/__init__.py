"""Database plumbing: declarative bases, portable column types, engines and migrations."""
