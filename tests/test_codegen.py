"""`warehouse.codegen`: generated source compiled once, its lines shown by tracebacks and
`inspect` (the classifier, event builder and row encoder tests run it on their code)."""

from __future__ import annotations

import inspect
import linecache
import traceback

import pytest

from warehouse.codegen import compile_expression, compile_source


def test_compile_source_registers_its_lines() -> None:
    source = "def half(x):\n    return 1 / x\n"
    ns = compile_source(source, "<test half>", {})
    assert ns["half"](4) == 0.25
    assert inspect.getsource(ns["half"]) == source
    with pytest.raises(ZeroDivisionError) as info:
        ns["half"](0)
    text = "".join(traceback.format_exception(info.value))
    assert 'File "<test half>", line 2, in half' in text and "return 1 / x" in text


def test_compile_expression_registers_its_line() -> None:
    source = "lambda rows: [1 // r for r in rows]"  # one line without a newline, as rows.py
    fn = compile_expression(source, "<test rows>", {"__builtins__": {}})
    assert fn([1, 2]) == [1, 0]
    assert linecache.getline("<test rows>", 1) == source + "\n"
    with pytest.raises(ZeroDivisionError) as info:
        fn([0])
    assert "[1 // r for r in rows]" in "".join(traceback.format_exception(info.value))
