"""Company settings and the form-signing secret, kept in the store for every machine on it.

Each machine has its own workspace folder, but a survey round, a reminder or a report must not
depend on which one runs it: so the shared keys of csat.toml (all but csat.config.LOCAL_KEYS) and
the secret that signs forms live here. Opening the store lays them over the folder's csat.toml
(csat.config.Workspace.apply_shared). Every change bumps the settings revision, which `csat doctor`
shows so two machines can tell whether they see the same settings, and is audited (who, on which
host, when, old and new value) like any record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from csat.i18n import _


@dataclass
class SharedState:
    revision: int
    values: dict[str, Any] = field(default_factory=dict)
    secret: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret.encode()) if self.secret else ""


def fingerprint(secret: bytes) -> str:
    """A short name for a secret that says nothing about it: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(secret).hexdigest()[:12]


def read(session) -> SharedState:
    """The store's settings revision, shared settings and secret."""
    from sqlmodel import select

    from csat.store.models import Setting, StoreState

    state = session.get(StoreState, 1)
    values = {row.key: json.loads(row.value) for row in session.exec(select(Setting)).all()}
    if state is None:
        return SharedState(revision=0, values=values)
    return SharedState(revision=state.settings_revision, values=values, secret=state.secret)


def apply(workspace, store) -> SharedState:
    """Lay the store's shared settings and secret over the workspace's csat.toml."""
    with store.read_session() as session:
        shared = read(session)
    workspace.apply_shared(shared.values, shared.revision, shared.secret)
    return shared


def write(session, changes: dict[str, Any], previous: dict[str, Any] | None = None) -> int:
    """Store shared settings (dotted key -> value) in one new settings revision; returns it.

    The state row is locked first, so two machines changing settings at once get revisions one
    after the other and neither change is lost. `previous` holds the values in force before (a
    default when the store never held the key): the audit entry of a key stored for the first
    time shows it as the old value.
    """
    from sqlmodel import select

    from csat.store.models import Setting, StoreState, now

    state = session.exec(select(StoreState).where(StoreState.id == 1).with_for_update()).one_or_none()
    if state is None:
        from csat.errors import StoreError

        raise StoreError(_("the store has no settings state; run `csat db upgrade`"))
    revision = state.settings_revision + 1
    state.settings_revision = revision
    for key, value in changes.items():
        text = json.dumps(value, ensure_ascii=False)
        row = session.exec(select(Setting).where(Setting.key == key)).one_or_none()
        if row is None:
            if previous and key in previous:
                session.info.setdefault("audit_extra", {})[("setting", key)] = {
                    "value": [json.dumps(previous[key], ensure_ascii=False), text]}
            session.add(Setting(key=key, value=text, revision=revision))
        elif row.value != text:
            row.value, row.revision, row.updated_at = text, revision, now()
    session.flush()
    return revision
