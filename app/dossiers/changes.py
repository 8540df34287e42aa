"""Dossier changes others must hear of: listeners run inside the transaction that made the change.

The dossier domain announces; app/integrations listens (wired in app/container.py), so dossiers
never import the connectors and every announced change commits or rolls back with its outbox rows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from persistence.dossier_models import Dossier


@dataclass(frozen=True)
class DossierChange:
    kind: str  # received | step | supplement-request | refuse | withdraw | extend | return-result | ...
    at: datetime
    actor: str | None = None
    content: str | None = None  # what happened, in Vietnamese, for the national portal's step log


DossierChangeListener = Callable[[Session, Dossier, DossierChange], None]


class DossierChanges:
    def __init__(self) -> None:
        self.listeners: list[DossierChangeListener] = []

    def announce(self, session: Session, dossier: Dossier, change: DossierChange) -> None:
        for listener in self.listeners:
            listener(session, dossier, change)
