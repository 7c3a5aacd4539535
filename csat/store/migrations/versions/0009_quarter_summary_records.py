"""Quarterly summaries become records: one row per version, with the figures as they were printed

Before, `quarter_summary` held one row per quarter whose date was overwritten by every re-print.
Now a summary is kept as made: the unique key is (quarter, version), `figures` holds the summary's
JSON as `feedback summary --format json` printed it, and `made_by` who made it.

Existing rows become version 1 with their date, total and complaints, and empty figures: they are
marked as made before records were kept. Their figures are not recomputed here: recomputing at
upgrade time would give today's entries and today's settings under the old date, which is not what
was printed then (`csat feedback summary --quarter Q --refresh` records today's figures as version 2).
The table is small (one row per quarter), so it is copied, dropped and created again, the same way
on SQLite and PostgreSQL. The downgrade keeps the latest version of each quarter.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _rows(bind, *extra: str) -> list[dict]:
    """The rows as typed values (SQLite hands back its dates as text to an untyped query)."""
    columns = [sa.column('id', sa.Integer()), sa.column('quarter', sa.String()), sa.column('summarised_at', sa.DateTime()),
               sa.column('total', sa.Integer()), sa.column('complaints', sa.Integer())]
    columns += [sa.column(name, sa.Integer()) for name in extra]
    old = sa.table('quarter_summary', *columns)
    return [dict(row._mapping) for row in bind.execute(sa.select(*old.c).order_by(old.c.id))]


def upgrade() -> None:
    bind = op.get_bind()
    kept = _rows(bind)
    op.drop_table('quarter_summary')
    table = op.create_table('quarter_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('summarised_at', sa.DateTime(), nullable=False),
    sa.Column('made_by', sa.String(length=100), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('quarter', 'version')
    )
    with op.batch_alter_table('quarter_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarter_summary_quarter'), ['quarter'], unique=False)
    if kept:
        op.bulk_insert(table, [{"id": row["id"], "quarter": row["quarter"], "version": 1,
                                "summarised_at": row["summarised_at"], "made_by": "", "total": row["total"],
                                "complaints": row["complaints"], "figures": ""} for row in kept])
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('quarter_summary', 'id'),"
                                 " (SELECT max(id) FROM quarter_summary))"))


def downgrade() -> None:
    bind = op.get_bind()
    latest: dict[str, dict] = {}
    for row in _rows(bind, 'version'):
        if row["quarter"] not in latest or row["version"] > latest[row["quarter"]]["version"]:
            latest[row["quarter"]] = row
    with op.batch_alter_table('quarter_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarter_summary_quarter'))
    op.drop_table('quarter_summary')
    table = op.create_table('quarter_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('summarised_at', sa.DateTime(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('quarter')
    )
    if latest:
        op.bulk_insert(table, [{"id": row["id"], "quarter": row["quarter"], "summarised_at": row["summarised_at"],
                                "total": row["total"], "complaints": row["complaints"]}
                               for row in sorted(latest.values(), key=lambda row: row["id"])])
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('quarter_summary', 'id'),"
                                 " (SELECT max(id) FROM quarter_summary))"))
