"""capa_verification keeps every effectiveness check of a CAPA; capa.status widens to 32

A CAPA held one verification in four columns (verified_by, verified_at,
verification_result, verification_note), so a second check overwrote the first: a
not-effective verification vanished from the record once the CAPA was verified again.
Each check becomes a row of capa_verification with when it was made as the person
states it (verified_at) and the time it was typed in (entered_at), and the four columns
go: one place holds verifications. The status widens for `verified_not_effective`.

Existing verifications move over with every value: verified_at and entered_at are both
the old verified_at (updated_at where it was empty).
The downgrade puts each CAPA's last verification back into the columns (the earlier
ones are lost, as they were before), and a verified-not-effective CAPA goes back to
in_progress, where the old state machine left it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_OLD_COLUMNS = ('verified_by', 'verified_at', 'verification_result', 'verification_note')


def _capa(*names_and_types) -> sa.TableClause:
    return sa.table('capa', sa.column('id', sa.Integer()), *(sa.column(name, kind) for name, kind in names_and_types))


_OLD_CAPA = _capa(('verified_by', sa.String()), ('verified_at', sa.DateTime()), ('verification_result', sa.String()),
                  ('verification_note', sa.Text()), ('updated_at', sa.DateTime()), ('status', sa.String()))
_VERIFICATION = sa.table('capa_verification', sa.column('id', sa.Integer()), sa.column('capa_id', sa.Integer()),
                         sa.column('verified_at', sa.DateTime()), sa.column('verified_by', sa.String()),
                         sa.column('result', sa.String()), sa.column('note', sa.Text()),
                         sa.column('entered_at', sa.DateTime()))


def upgrade() -> None:
    bind = op.get_bind()
    old = _OLD_CAPA.c
    found = bind.execute(sa.select(old.id, old.verified_by, old.verified_at, old.verification_result,
                                   old.verification_note, old.updated_at)
                         .where(old.verification_result != '').order_by(old.id)).all()
    with op.batch_alter_table('capa', schema=None) as batch_op:
        for name in _OLD_COLUMNS:
            batch_op.drop_column(name)
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
    op.create_table('capa_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capa_id', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=False),
    sa.Column('verified_by', sa.String(length=200), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['capa_id'], ['capa.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('capa_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capa_verification_capa_id'), ['capa_id'], unique=False)
    rows = []
    for capa_id, verified_by, verified_at, result, note, updated_at in found:
        moment = verified_at or updated_at
        rows.append({"capa_id": capa_id, "verified_at": moment, "verified_by": verified_by or "",
                     "result": result, "note": note or "", "entered_at": moment})
    if rows:
        bind.execute(sa.insert(_VERIFICATION), rows)


def downgrade() -> None:
    bind = op.get_bind()
    table = _VERIFICATION.c
    last = {}
    for capa_id, verified_at, verified_by, result, note in bind.execute(
            sa.select(table.capa_id, table.verified_at, table.verified_by, table.result, table.note)
            .order_by(table.id)).all():
        last[capa_id] = {"verified_by": verified_by, "verified_at": verified_at, "verification_result": result,
                         "verification_note": note}
    with op.batch_alter_table('capa_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capa_verification_capa_id'))
    op.drop_table('capa_verification')
    op.execute(sa.update(_OLD_CAPA).where(_OLD_CAPA.c.status == 'verified_not_effective')
               .values(status='in_progress'))
    with op.batch_alter_table('capa', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('verification_result', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('verification_note', sa.Text(), nullable=True))
        batch_op.alter_column('status', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
    op.execute(sa.update(_OLD_CAPA).values(verified_by='', verification_result='', verification_note=''))
    for capa_id, values in last.items():
        op.execute(sa.update(_OLD_CAPA).where(_OLD_CAPA.c.id == capa_id).values(**values))
    with op.batch_alter_table('capa', schema=None) as batch_op:
        for name in ('verified_by', 'verification_result', 'verification_note'):
            batch_op.alter_column(name, existing_type=sa.Text() if name == 'verification_note' else sa.String(
                length=200 if name == 'verified_by' else 16), nullable=False)
