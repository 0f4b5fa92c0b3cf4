"""lgcloud: 自治体クラウド."""

__version__ = "0.1.0"
