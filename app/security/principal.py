"""Who is calling: an authenticated user, API key or external identity, with role and unit."""

from dataclasses import dataclass, field

from app.security.roles import UNIT_SCOPED, Role


@dataclass(frozen=True)
class Principal:
    subject: str  # username, "apikey:<prefix>" or the external identity's subject
    role: str
    unit: str | None
    kind: str  # user | apikey | bootstrap | oidc
    agency: str | None = None  # the unit's parent agency (Sở / UBND xã), or the unit itself
    scopes: frozenset[str] = field(default_factory=frozenset)
    on_behalf_of: str | None = None  # X-Actor, honoured only for system-admin keys acting for a system

    @property
    def unit_scoped(self) -> bool:
        return self.role in UNIT_SCOPED

    @property
    def units(self) -> frozenset[str]:
        """A division's staff also act on the dossiers of its parent agency (e.g. Sở Y tế)."""
        return frozenset(u for u in (self.unit, self.agency) if u)

    @property
    def actor(self) -> str:
        return self.on_behalf_of or self.subject

    def may_see_units(self, *units: str | None) -> bool:
        return not self.unit_scoped or any(u in self.units for u in units if u)

    @property
    def is_system_admin(self) -> bool:
        return self.role == Role.SYSTEM_ADMIN
