"""answer keyed by (response_id, item_id), WITHOUT ROWID on SQLite; drop ix_response_round_id

An answer was a rowid table with a surrogate id plus UNIQUE(response_id, item_id): two
B-trees written per answer, and nothing ever referred to the id. The natural key becomes
the primary key, and on SQLite the table itself (WITHOUT ROWID), so a bulk import writes one
B-tree per answer. ix_response_round_id duplicated the leading column of
UNIQUE(round_id, customer_id, respondent), which serves lookups by round on its own.

SQLite cannot change a table's primary key or rowid-ness in place, so the table is rebuilt
(create answer_new, copy, drop answer, rename), inside the one transaction csat's
`db upgrade` runs with foreign keys on: the copy checks every answer's response and item,
and nothing refers to answer, so dropping it checks nothing. PostgreSQL alters the table in
place. Existing answers keep every value; the downgrade gives them fresh ids.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_VALUES = "response_id, item_id, score, not_applicable, raw, comment"


def _answer_columns() -> list:
    return [
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('not_applicable', sa.Boolean(), nullable=False),
        sa.Column('raw', sa.String(length=200), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
        sa.ForeignKeyConstraint(['response_id'], ['response.id'], ),
    ]


def _rebuild_sqlite_answer(*definition, **table_kwargs) -> None:
    """Replace answer by a table of the given definition holding the same answers, in key order."""
    from csat.errors import StoreError

    op.create_table('answer_new', *definition, **table_kwargs)
    try:
        op.execute(f"INSERT INTO answer_new ({_VALUES}) SELECT {_VALUES} FROM answer ORDER BY response_id, item_id")
    except sa.exc.IntegrityError:
        dangling = len(op.get_bind().exec_driver_sql("PRAGMA foreign_key_check(answer)").fetchall())
        raise StoreError(f"the store has {dangling} answer(s) whose response or item no longer exists; "
                         "nothing was changed: restore a backup or delete those answers, then upgrade") from None
    op.drop_table('answer')
    op.rename_table('answer_new', 'answer')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        _rebuild_sqlite_answer(*_answer_columns(), sa.PrimaryKeyConstraint('response_id', 'item_id'),
                               sqlite_with_rowid=False)
    else:
        inspector = sa.inspect(bind)
        for unique in inspector.get_unique_constraints('answer'):
            if unique['column_names'] == ['response_id', 'item_id']:
                op.drop_constraint(unique['name'], 'answer', type_='unique')
        op.drop_constraint(inspector.get_pk_constraint('answer')['name'], 'answer', type_='primary')
        op.drop_column('answer', 'id')  # its sequence goes with it (owned by the column)
        op.create_primary_key('answer_pkey', 'answer', ['response_id', 'item_id'])
    op.drop_index('ix_response_round_id', table_name='response')


def downgrade() -> None:
    bind = op.get_bind()
    op.create_index('ix_response_round_id', 'response', ['round_id'], unique=False)
    if bind.dialect.name == 'sqlite':
        _rebuild_sqlite_answer(sa.Column('id', sa.Integer(), nullable=False), *_answer_columns(),
                               sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('response_id', 'item_id'))
    else:
        op.drop_constraint(sa.inspect(bind).get_pk_constraint('answer')['name'], 'answer', type_='primary')
        op.execute("ALTER TABLE answer ADD COLUMN id SERIAL NOT NULL")  # numbers the existing answers
        op.create_primary_key('answer_pkey', 'answer', ['id'])
        op.create_unique_constraint('answer_response_id_item_id_key', 'answer', ['response_id', 'item_id'])
