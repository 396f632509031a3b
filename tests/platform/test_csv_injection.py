"""Every CSV the platform writes opens in a spreadsheet as data: cells that would run as a
formula get a leading apostrophe; numbers (negative ones too) stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import Participant, good_answer, make_study
from wherewhen.annotations.formats import VideoRecord, export_csv
from wherewhen.core.csvsafe import SafeDictWriter, escape_cell
from wherewhen.scoring.leaderboards import COST_KEYS, METRICS, leaderboard_csv

EVIL = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", EVIL)
def test_formula_cells_are_escaped(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-0.25", "-3", "+1.5e3", "plain", "", 7, -1.5, None])
def test_numbers_and_plain_text_are_kept(value):
    assert escape_cell(value) == value


def test_writer_escapes_every_row():
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=["a", "b"], lineterminator="\n")
    writer.writeheader()
    writer.writerows([{"a": "=1+1", "b": -2}, {"a": "ok", "b": "@x"}])
    assert out.getvalue() == "a,b\n'=1+1,-2\nok,'@x\n"


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_annotation_csv_escapes_titles_and_labels():
    record = VideoRecord(
        video_id=1,
        title="=cmd|' /C calc'!A0",
        file_name="a.mp4",
        width=64,
        height=48,
        fps=8.0,
        duration=1.0,
        timestamps=[0.0, 0.125],
        label="@label",
        annotations=[
            (
                "crowd",
                5,
                "+annotator",
                {"tracks": [], "segments": [{"kind": "visual", "start": 0.0, "end": 0.5}]},
            )
        ],
    )
    cells = _cells(export_csv([record]))
    assert "'=cmd|' /C calc'!A0" in cells
    assert "'@label" in cells
    assert "'+annotator" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


def test_leaderboard_csv_escapes_names():
    estimate = {"value": -0.5, "low": -0.75, "high": 0.25, "n": 3}
    row = {
        "model": {"name": "=1+1"},
        "method": "@staa",
        "variant": "-x",
        "labels": ["+car"],
        "clips": 1,
        "not_scored": 0,
        "videos": 1,
        "frames": 4,
        "sparsity": 0.5,
        "deletion_auc": None,
        "insertion_auc": None,
        "cost": dict.fromkeys(COST_KEYS),
        **{m: estimate for m in METRICS},
    }
    cells = _cells(leaderboard_csv({"rows": [row], "human": None}))
    assert {"'=1+1", "'@staa", "'-x", "'+car"} <= set(cells)
    assert "-0.5" in cells  # numbers stay numbers


@pytest.mark.django_db
def test_study_csv_escapes_participant_ids(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT)
    p = Participant(client, study.slug, {"PROLIFIC_PID": "=HYPERLINK(1)"})
    assert p.start().status_code == 200
    assert p.post("consent/", {"agree": True}).status_code == 200
    assert p.post("instructions/").status_code == 200
    trial = p.trial().json()
    assert p.answer(trial["index"], good_answer(trial)).status_code == 200
    client.force_login(researcher)
    text = client.get(f"/api/v1/studies/{study.id}/export/").content.decode()
    cells = _cells(text)
    assert "'=HYPERLINK(1)" in cells
    assert "=HYPERLINK(1)" not in cells
