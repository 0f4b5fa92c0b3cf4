"""What every business area's routes, pages and commands stand on, below the areas: the
request context and permissions of a web request (``deps``), the templates and the
context every page's layout needs (``rendering``), form and preview helpers (``ui``),
files and background jobs kept between requests (``stores``), and the options, console
and platform handle of a command (``commands``). The app factory (``lgcloud.web``) and
the command root (``lgcloud.cli``) sit above the areas and only assemble them."""
