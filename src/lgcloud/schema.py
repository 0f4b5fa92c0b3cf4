"""Every model of every business area and of the layers below them, so the metadata is
complete (for Alembic, the replica and snapshot code that handle every town table, and the
tests). Continuity's own platform tables (above the areas) are added by who needs them:
``lgcloud/migrations/platform/env.py`` and the tests."""

from __future__ import annotations

from lgcloud.addressees import models as addressee_models
from lgcloud.audit import models as audit_models
from lgcloud.auth import models as auth_models
from lgcloud.certificates import models as certificate_models
from lgcloud.datalink import models as datalink_models
from lgcloud.db.base import PlatformBase, TownBase
from lgcloud.elections import models as election_models
from lgcloud.insurance import models as insurance_models
from lgcloud.notices import models as notice_models
from lgcloud.parameters import models as parameter_models
from lgcloud.register import models as register_models
from lgcloud.safety import models as safety_models
from lgcloud.seals import models as seal_models
from lgcloud.taxation import models as taxation_models
from lgcloud.tenancy import models as tenancy_models
from lgcloud.trail import models as trail_models
from lgcloud.worklist import models as worklist_models

__all__ = [
    "PlatformBase",
    "TownBase",
    "addressee_models",
    "audit_models",
    "auth_models",
    "certificate_models",
    "datalink_models",
    "election_models",
    "insurance_models",
    "notice_models",
    "parameter_models",
    "register_models",
    "safety_models",
    "seal_models",
    "taxation_models",
    "tenancy_models",
    "trail_models",
    "worklist_models",
]
