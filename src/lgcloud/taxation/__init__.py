"""Taxes: individual resident tax, fixed-asset tax, light-vehicle tax, installments, payments."""
