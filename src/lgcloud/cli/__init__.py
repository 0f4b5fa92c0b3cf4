"""The ``lgcloud`` command: assembles the command groups of the parts (one module each)."""

from __future__ import annotations

import typer

from lgcloud.cli import audit, auth, certificates, continuity, interchange, register, safety, towns
from lgcloud.cli.common import close_platforms

app = typer.Typer(help="lgcloud 自治体クラウド: shared municipal core system", no_args_is_help=True)
app.add_typer(towns.app)
app.add_typer(register.app)
app.add_typer(certificates.app)
app.add_typer(interchange.export_app, name="export")
app.add_typer(interchange.import_app, name="import")
app.add_typer(auth.clerk_app, name="clerk")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(continuity.continuity_app, name="continuity")
app.add_typer(continuity.node_app, name="node")
app.add_typer(safety.app, name="safety")
app.command("drill")(continuity.drill_command)


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Every command's platform handle is closed when the command ends (its audit writers
    stopped, its connections returned: a PostgreSQL server's are not left to the GC)."""
    ctx.call_on_close(close_platforms)


if __name__ == "__main__":
    app()
