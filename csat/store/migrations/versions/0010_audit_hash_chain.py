"""The audit trail becomes a hash chain: prev_hash and hash on every entry

Each entry's hash is SHA-256 over its stored content and the hash of the entry before it (see
csat.store.chain for the exact serialisation, the same on SQLite and PostgreSQL). The existing entries
are chained here in id order, a batch at a time (a store with a million entries chains in seconds).
The columns are added nullable, so adding them is instant on both databases; every writer fills them.
The downgrade drops them (and with them the chain).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from csat.store.chain import chain_existing

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    chain_existing(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
