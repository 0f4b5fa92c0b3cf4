"""The ``lgcloud`` command: only assembles the command groups. Each business area owns its
commands (``<area>/cli.py``); the platform's own (towns, clerks, audit, serving, drill) are
in this package."""

from __future__ import annotations

import typer

from lgcloud.addressees import cli as addressees
from lgcloud.certificates import cli as certificates
from lgcloud.cli import audit, auth, serving, towns
from lgcloud.continuity import cli as continuity
from lgcloud.datalink import cli as datalink
from lgcloud.elections import cli as elections
from lgcloud.interchange import cli as interchange
from lgcloud.interface.commands import close_platforms
from lgcloud.parameters import cli as parameters
from lgcloud.register import cli as register
from lgcloud.safety import cli as safety
from lgcloud.seals import cli as seals
from lgcloud.taxation import cli as taxation

app = typer.Typer(help="lgcloud 自治体クラウド: shared municipal core system", no_args_is_help=True)
app.add_typer(towns.app)
app.add_typer(register.app)
app.add_typer(register.gaiji_app, name="gaiji")
app.add_typer(addressees.app, name="addressee")
app.add_typer(certificates.app)
app.add_typer(seals.app, name="seal")
app.add_typer(elections.app, name="election")
app.add_typer(taxation.app, name="tax")
app.add_typer(interchange.export_app, name="export")
app.add_typer(interchange.import_app, name="import")
app.add_typer(auth.clerk_app, name="clerk")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(parameters.app, name="params")
app.add_typer(datalink.app, name="datalink")
app.add_typer(continuity.continuity_app, name="continuity")
continuity.node_app.command("serve")(serving.node_serve)
app.add_typer(continuity.node_app, name="node")
app.add_typer(safety.app, name="safety")
app.command("drill")(serving.drill_command)


@app.callback()
def _main(ctx: typer.Context) -> None:
    """Every command's platform handle is closed when the command ends (its audit writers
    stopped, its connections returned: a PostgreSQL server's are not left to the GC)."""
    ctx.call_on_close(close_platforms)


if __name__ == "__main__":
    app()
