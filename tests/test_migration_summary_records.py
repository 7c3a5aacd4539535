"""Revision 0009 on a store holding summaries: each quarter's row becomes version 1, kept with its date.

Before 0009 a quarter had one summary row whose date every re-print overwrote. The upgrade keeps
each row as version 1 with its date and counts, marked as made before records were kept (no
figures), and the downgrade keeps the latest version of each quarter. On SQLite and PostgreSQL.
"""

from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from csat.store.engine import engine_for, upgrade
from csat.store.migrations import HEAD, alembic_config
from csat.store.models import QuarterSummary

MADE = datetime(2024, 10, 5, 9, 30)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


def test_summaries_become_version_1_and_go_back(database_url):
    with engine_for(database_url).begin() as connection:
        command.upgrade(alembic_config(connection), "0006")
    with engine_for(database_url).begin() as connection:
        connection.execute(sa.text("INSERT INTO quarter_summary (quarter, summarised_at, total, complaints)"
                                   " VALUES ('2024Q2', :first, 3, 1), ('2024Q3', :second, 12, 8)"),
                           {"first": datetime(2024, 7, 3, 9), "second": MADE})
    assert upgrade(database_url)[1] == HEAD
    engine = engine_for(database_url)
    with Session(engine) as session:
        rows = session.exec(select(QuarterSummary).order_by(QuarterSummary.quarter)).all()
        assert [(row.quarter, row.version, row.summarised_at, row.total, row.complaints, row.figures, row.made_by)
                for row in rows] == [("2024Q2", 1, datetime(2024, 7, 3, 9), 3, 1, "", ""),
                                     ("2024Q3", 1, MADE, 12, 8, "", "")]
        session.add(QuarterSummary(quarter="2024Q3", version=2, summarised_at=datetime(2024, 11, 1), total=13,
                                   complaints=8, figures="{}", made_by="alice"))
        session.commit()   # a new row takes an id past the copied ones (PostgreSQL's sequence moved on)
        with pytest.raises(sa.exc.IntegrityError):
            session.add(QuarterSummary(quarter="2024Q3", version=2, total=0, complaints=0))
            session.commit()
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")
    with engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT quarter, total FROM quarter_summary ORDER BY quarter")).all()
    assert [tuple(row) for row in kept] == [("2024Q2", 3), ("2024Q3", 13)]
