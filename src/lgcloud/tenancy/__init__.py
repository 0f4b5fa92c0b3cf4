"""Towns as tenants: the platform's list of towns and each town's own database."""
