"""The resident register (住民記録): people, households, life events, history, search."""
