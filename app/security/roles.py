"""The roles of the one-stop system (DOMAIN.md "Actors") and which of them are bound to a unit."""

from enum import StrEnum


class Role(StrEnum):
    RECEPTION_CLERK = "reception_clerk"
    ONE_STOP_HEAD = "one_stop_head"
    DIVISION_HEAD = "division_head"
    SPECIALIST = "specialist"
    APPROVER = "approver"
    RECORDS_CLERK = "records_clerk"
    UNIT_ADMIN = "unit_admin"
    SYSTEM_ADMIN = "system_admin"
    INTEGRATOR = "integrator"
    AUDITOR = "auditor"


ROLES = frozenset(r.value for r in Role)
STAFF = frozenset({Role.RECEPTION_CLERK, Role.ONE_STOP_HEAD, Role.DIVISION_HEAD, Role.SPECIALIST, Role.APPROVER,
                   Role.RECORDS_CLERK})
ADMINS = frozenset({Role.UNIT_ADMIN, Role.SYSTEM_ADMIN})
# These see and act only on dossiers of their own agency; the others work across the city.
UNIT_SCOPED = STAFF | {Role.UNIT_ADMIN}

# A diagram's candidate group names a role; a few groups are a role at a particular level of government.
GROUP_ROLES: dict[str, frozenset[str]] = {"commune_specialist": frozenset({Role.SPECIALIST})}


def roles_for_group(group: str) -> frozenset[str]:
    return GROUP_ROLES.get(group, frozenset({group}))
