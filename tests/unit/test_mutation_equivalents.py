"""The equivalent mutants' list (tests/mutation/equivalent.toml) follows its lines when the code
above them moves, and stops the mutation run when a line changed or is gone."""

import tomllib

import pytest

from tests.mutation.run import EQUIVALENT, _equivalent, anchored_line

SOURCE = """def first(status):
    if status == "accepted":
        return 1


def second(status):
    if status == "accepted":
        return 2
"""
ENTRY = {"module": "domain/x.py", "line": 7, "source": 'if status == "accepted":', "within": "second"}


def test_a_line_that_still_reads_its_source_is_kept():
    assert anchored_line(ENTRY, SOURCE) == 7


def test_code_added_above_moves_the_line_with_it():
    assert anchored_line(ENTRY, '"""A docstring."""\n\n' + SOURCE) == 9


def test_the_same_text_in_another_definition_is_not_taken():
    assert anchored_line({**ENTRY, "line": 2, "within": "first"}, SOURCE) == 2
    assert anchored_line({**ENTRY, "line": 2}, SOURCE) == 7  # second's, not first's


def test_a_changed_line_stops_the_run():
    with pytest.raises(SystemExit, match="is gone"):
        anchored_line(ENTRY, SOURCE.replace('status == "accepted"', 'status in ("accepted",)'))


def test_every_listed_mutant_is_found_in_the_layer_as_it_is():
    listed = tomllib.loads(EQUIVALENT.read_text())["equivalent"]
    assert len(_equivalent()) == len({(e["module"], e["line"], e["operator"], e.get("occurrence", 0)) for e in listed})
    assert all("within" in entry and entry["reason"].strip() for entry in listed)
