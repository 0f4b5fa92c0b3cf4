"""Documents lgcloud prints: the PDF engine (``render``) below every business area."""
