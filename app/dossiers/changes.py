"""Dossier changes others must hear of: listeners run inside the transaction that made the change.

The dossier domain announces; app/integrations listens (wired in app/container.py), so dossiers
never import the connectors and every announced change commits or rolls back with its outbox rows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from persistence.dossier_models import Dossier, DossierDocument, Procedure


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

    def outgoing_for_new(self, dossier: Dossier, change: DossierChange, documents: list[DossierDocument],
                         procedure: Procedure) -> list[Any]:
        """What the listeners would write for a dossier first written in this transaction, decided without the
        database (for bulk writers): each listener's `outgoing`. A listener without one can't be bulk-written."""
        out = []
        for listener in self.listeners:
            outgoing = getattr(listener, "outgoing", None)
            if outgoing is None:
                raise TypeError(f"{listener!r} has no `outgoing`: announce changes one by one instead")
            message = outgoing(dossier, change, documents, procedure)
            if message is not None:
                out.append(message)
        return out
