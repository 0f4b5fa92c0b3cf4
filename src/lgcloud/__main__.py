"""``python -m lgcloud``."""

from lgcloud.cli import app

app()
