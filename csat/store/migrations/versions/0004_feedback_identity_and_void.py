"""feedback: the log's own number (source_number), voiding (voided_at, void_reason); source_key without the text

A feedback entry imported from a log was known by a hash of customer, time received, kind,
channel and text, so correcting the text in the log and importing it again added a second
entry. Its identity is now the log's own number column when it has one (source_number), else
the hash of customer, time received, kind and channel (source_key). The upgrade recomputes
source_key for every imported entry so that entries imported before keep matching their rows;
the downgrade puts back the old hash, text included. The formula is written out here, as it
was when this revision was made, so later changes to csat cannot change what it does.

A voided entry is never deleted: voided_at and void_reason say when and why it stopped
counting.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import hashlib

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _rekey(with_text: bool) -> None:
    feedback = sa.table('feedback', sa.column('id', sa.Integer()), sa.column('customer_id', sa.Integer()),
                        sa.column('kind', sa.String()), sa.column('channel', sa.String()), sa.column('text', sa.Text()),
                        sa.column('received_at', sa.DateTime()), sa.column('source_key', sa.String()))
    customer = sa.table('customer', sa.column('id', sa.Integer()), sa.column('code', sa.String()))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(feedback.c.id, customer.c.code, feedback.c.received_at, feedback.c.kind, feedback.c.channel,
                  feedback.c.text)
        .select_from(feedback.join(customer, customer.c.id == feedback.c.customer_id))
        .where(feedback.c.source_key != '')).all()
    for entry_id, code, received, kind, channel, text in rows:
        parts = [code, received.isoformat(), kind, channel] + ([" ".join(text.split())] if with_text else [])
        bind.execute(feedback.update().where(feedback.c.id == entry_id).values(source_key=_hash(*parts)))


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_number', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_feedback_source_number'), ['source_number'], unique=False)
    _rekey(with_text=False)


def downgrade() -> None:
    _rekey(with_text=True)
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_source_number'))
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('source_number')
