"""The equivalent mutants' list (tests/mutation/equivalent.toml) follows its lines when the code
above them moves, and stops the mutation run when a line changed or is gone."""

import tomllib

import pytest

from tests.mutation.run import EQUIVALENT, _annotations, _equivalent, anchored_line

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


def test_a_protocols_body_is_skipped_as_a_type_and_a_class_is_not():
    source = "class Ports(Protocol):\n    @property\n    def clock(self) -> Clock: ...\n\n\n"
    source += "class Real:\n    @property\n    def clock(self):\n        return 1\n"
    spans = _annotations(source)

    def skipped(line: int, column: int) -> bool:
        return any(start <= (line, column) < end for start, end in spans)

    assert skipped(2, 4) and skipped(3, 4)  # the Protocol's decorator and member
    assert not skipped(7, 4) and not skipped(9, 8)  # the class's


def test_a_protocol_with_a_default_method_body_is_mutated():
    source = "class Ports(typing.Protocol[T]):\n    def clock(self) -> int:\n        return 1 + 1\n"
    spans = _annotations(source)
    assert not any(start <= (3, 8) < end for start, end in spans)
