"""feedback: a linked CAPA (capa_id) and the recorded reason why no CAPA is needed (no_capa_reason, no_capa_at)

The procedure sends every complaint to the departments as a CAPA report. A CAPA opened from an
entry refers to it (capa.feedback_id); a CAPA opened otherwise (from a survey item, or for an
earlier complaint about the same defect) is linked to the entry with `csat feedback link`, kept
here (no foreign key: capa already refers to feedback, and a cycle of keys stops tables from
being ordered). When a complaint needs no CAPA, the reason is kept with when it was recorded, so
`csat check` stops listing it and an auditor reads why.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capa_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('no_capa_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('no_capa_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_column('no_capa_at')
        batch_op.drop_column('no_capa_reason')
        batch_op.drop_column('capa_id')
