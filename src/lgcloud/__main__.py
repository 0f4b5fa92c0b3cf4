"""``python -m lgcloud``."""

from lgcloud.cli import app

if __name__ == "__main__":
    app()
