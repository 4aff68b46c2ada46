"""The layer stays small enough to read: no module over 300 lines, no class over 200 (the
structure issue's limits), so that a rule cannot hide in a façade again."""

import ast

import pytest

from tests.support import ROOT

LAYER = ROOT / "layers" / "shared" / "invitations"
MAX_MODULE_LINES = 300
MAX_CLASS_LINES = 200
MODULES = sorted(LAYER.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LAYER)))
def test_no_module_or_class_is_too_long(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= MAX_CLASS_LINES, node.name


def test_the_limits_look_at_the_whole_layer():
    assert len(MODULES) > 40 and LAYER / "tokens.py" in MODULES
