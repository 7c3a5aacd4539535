"""Imported files archived under their SHA-256; responses and feedback refer to their source and row

Every file an import reads (returned forms, consolidated sheets, feedback logs, customer lists) is
kept whole in `source_file` (its bytes, SHA-256, name as given, size, media type, when and by whom),
written in the same transaction as the records it produced: a table, not a workspace folder, so it
is transactional with the import (an import that rolls back leaves no file), rides along with
`csat db backup` and pg_dump, and works the same on SQLite and PostgreSQL. `response` and
`feedback` gain source_file_id (the archived file), source_sheet and source_row (where in it);
`customer` gains source_file_id (the customer list that added it or last changed it).
Rows stored before this revision have no archived file (NULL): their source_file path stays.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    # source_file_id is a plain integer, no foreign key: the archive is append-only (nothing deletes a
    # file), and on SQLite a column with a foreign key can neither be dropped in place by the downgrade
    # nor added by copying the table, which the rows referring to it forbid while foreign keys are on
    # (as they are during `csat db upgrade`). So the columns are added and dropped in place.
    for table in ('response', 'feedback', 'customer'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('source_file_id', sa.Integer(), nullable=True))
            if table != 'customer':
                batch_op.add_column(sa.Column('source_sheet', sa.String(length=200), nullable=False,
                                              server_default=''))
                batch_op.add_column(sa.Column('source_row', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ('customer', 'feedback', 'response'):
        columns = ['source_file_id'] + (['source_sheet', 'source_row'] if table != 'customer' else [])
        for column in columns:
            # SQLite 3.35+ and PostgreSQL drop a column in place (no copy of the table).
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    op.drop_table('source_file')
