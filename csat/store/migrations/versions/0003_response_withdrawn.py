"""response.withdrawn_at and response.withdraw_reason: a withdrawn response is kept, not counted

A response entered in error (wrong customer, wrong period, a test) is withdrawn rather
than deleted: the record and its answers stay for the audit, every statistic leaves it
out. Existing responses are live (withdrawn_at NULL, reason '').

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both dialects (SQLite needs no table rebuild, which answer's foreign key
    # would refuse inside `db upgrade`'s transaction); the '' default fills the existing rows.
    op.add_column('response', sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
    op.add_column('response', sa.Column('withdraw_reason', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (again no rebuild).
    op.execute('ALTER TABLE response DROP COLUMN withdraw_reason')
    op.execute('ALTER TABLE response DROP COLUMN withdrawn_at')
