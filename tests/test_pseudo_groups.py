"""Role-keeping pseudo-groups over a study: real coupled groups are more together than
pseudo-groups, independent ones are not, roles must match (dsp.concordance.pseudo_group), and
the batch writes the answer (app.analysis.batch.group_study)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from app.analysis.batch import PSEUDO_GROUPS_CSV, group_study
from dsp.concordance.pseudo_group import GroupSeries, pair_table, pseudo_group_study
from dsp.simulate_group import coupling_parse, group_grid, simulate_group

TRIAD = ("partner", "patient", "clinician")
ALL = "partner-patient=0.8@2,patient-clinician=0.8@2,partner-clinician=0.8@2"


def _study(spec: str, seeds, duration_s: float = 180.0) -> list[GroupSeries]:
    out = []
    for s in seeds:
        couplings = tuple(coupling_parse(c) for c in spec.split(",") if c)
        rec = simulate_group(people=TRIAD, couplings=couplings, duration_s=duration_s, seed=s)
        g = group_grid(rec)
        out.append(GroupSeries(f"s{s}", g.fs, g.people, g.eda))
    return out


@pytest.fixture(scope="module")
def coupled():
    return _study(ALL, range(4))


def test_real_coupled_groups_beat_pseudo_groups(coupled, tmp_path: Path) -> None:
    st = pseudo_group_study(coupled)
    assert st.people == TRIAD and st.real.shape == (4,)
    assert st.n_pseudo == 24  # 4 x 3 x 2: every member from a different session
    assert st.difference > 0.3 and st.p < 0.05
    assert "more together than pseudo-groups" in st.text
    lines: list[str] = []
    group_study(coupled, tmp_path, lines.append)
    rows = list(csv.reader(open(tmp_path / PSEUDO_GROUPS_CSV, encoding="utf-8")))
    assert rows[1][0] == "group_index_mean_pairwise_eda_ci" and float(rows[1][7]) < 0.05
    assert len(lines) == 1 and "4 group sessions" in lines[0]


def test_pair_table_keeps_roles_and_independent_groups_are_not_claimed(coupled) -> None:
    roles, table = pair_table(coupled)
    assert roles == TRIAD and table.shape == (3, 4, 4)
    # the real pairs (diagonal) are the coupled ones
    assert np.all(
        np.diagonal(table, axis1=1, axis2=2).mean() > table[:, ~np.eye(4, dtype=bool)].mean()
    )
    st = pseudo_group_study(_study("", range(100, 104)))
    assert st.p > 0.05 and "not shown to differ" in st.text


def test_sessions_with_other_roles_are_refused_in_one_line(coupled, tmp_path: Path) -> None:
    other = GroupSeries("x", 4.0, ("a", "b", "c"), coupled[0].eda)
    with pytest.raises(ValueError, match="pseudo-groups keep roles"):
        pseudo_group_study([*coupled[:2], other])
    lines: list[str] = []
    assert group_study([*coupled[:2], other], tmp_path, lines.append) is None
    assert len(lines) == 1 and "keep roles" in lines[0]


def test_fewer_sessions_than_people_say_so(coupled) -> None:
    st = pseudo_group_study(coupled[:2])
    assert st.n_pseudo == 0 and "2 sessions of 3 people" in st.text
