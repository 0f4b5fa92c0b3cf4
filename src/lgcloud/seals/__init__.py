"""Seal registration (印鑑登録)."""
