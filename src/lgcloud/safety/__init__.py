"""安否確認: matching shelter evacuee lists against the resident register (docs/safety.md)."""
