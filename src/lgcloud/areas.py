"""The installed business areas: importing this module imports each area's declarations —
what it follows in the register (``<area>/linkage.py``) and its dated parameters
(``<area>/parameters.py``). ``core/areas.load_areas`` imports it before the register passes
a change on or a complete list of parameters is read. A new area adds its modules here."""

from __future__ import annotations

from lgcloud.child_allowance import parameters as child_allowance_parameters
from lgcloud.elections import linkage as election_linkage
from lgcloud.elections import parameters as election_parameters
from lgcloud.insurance import linkage as insurance_linkage
from lgcloud.insurance import parameters as insurance_parameters
from lgcloud.safety import parameters as safety_parameters
from lgcloud.safety import victims as safety_victims
from lgcloud.seals import linkage as seal_linkage
from lgcloud.seals import parameters as seal_parameters
from lgcloud.taxation import parameters as taxation_parameters

INSTALLED = (
    child_allowance_parameters,
    election_linkage,
    election_parameters,
    insurance_linkage,
    insurance_parameters,
    safety_parameters,
    safety_victims,
    seal_linkage,
    seal_parameters,
    taxation_parameters,
)
