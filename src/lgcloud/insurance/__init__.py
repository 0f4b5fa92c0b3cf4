"""National health insurance (国民健康保険): insured households, persons, qualifications."""
