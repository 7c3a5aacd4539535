"""Shared settings and the form-signing secret move into the store; the audit trail names the host

Several machines share one store, each with its own workspace folder: company settings in each
folder's csat.toml and a secret per folder made forms verify only where they were sent, and a
laptop with a default csat.toml changed shared data its own way. The `setting` table holds the
shared keys (a dotted csat.toml key and its JSON value), `store_state` the settings revision and
the form-signing secret, and audit_log gains `host`.

Today's settings move in from the workspace that runs `csat db upgrade` (the upgrade hands them
over as config.attributes["csat_seed"]: its csat.toml's shared keys and its signing secret); with
no workspace (or no secret) a fresh random secret is made. The downgrade drops both tables and
the column (csat.toml still holds what it held).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import json
import secrets
from datetime import datetime

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('setting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('store_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settings_revision', sa.Integer(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=False, server_default=''))

    config = op.get_context().config
    seed = (config.attributes.get("csat_seed") if config is not None else None) or {}
    values = seed.get("settings") or {}
    moment = datetime.now().replace(microsecond=0)
    revision_now = 1 if values else 0
    if values:
        setting = sa.table('setting', sa.column('key', sa.String()), sa.column('value', sa.Text()),
                           sa.column('revision', sa.Integer()), sa.column('updated_at', sa.DateTime()))
        op.bulk_insert(setting, [{"key": key, "value": json.dumps(value, ensure_ascii=False), "revision": 1,
                                  "updated_at": moment} for key, value in sorted(values.items())])
    state = sa.table('store_state', sa.column('id', sa.Integer()), sa.column('settings_revision', sa.Integer()),
                     sa.column('secret', sa.Text()), sa.column('created_at', sa.DateTime()))
    op.bulk_insert(state, [{"id": 1, "settings_revision": revision_now,
                            "secret": seed.get("secret") or secrets.token_urlsafe(32), "created_at": moment}])


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('host')
    op.drop_table('store_state')
    op.drop_table('setting')
