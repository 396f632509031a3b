"""Import rules of the ``workers`` package, read from its source with ``ast`` (nothing is imported).

The graph has an edge for every module named by an ``import`` / ``from ... import`` statement of
every module under ``workers/``: absolute and relative imports, at module level and inside
functions alike. An import of ``a.b.c`` (or ``from a.b import c`` where ``c`` is a module) is an
edge to ``a.b.c`` only, not to the packages ``a`` and ``a.b`` that Python initialises first: a
package whose ``__init__`` re-exports its own modules is the ordinary layout, not a cycle.

Rules:

* ``workers`` never imports Django, Django REST framework or the platform (``wherewhen``),
  wherever the import sits: the compute library runs without the web side.
* No import cycles among ``workers`` modules. Only *module-level* imports count for this rule,
  i.e. those that run when the module is first imported (including imports under
  ``if TYPE_CHECKING:``, ``try:`` or in a class body); an import inside a function runs when the
  function is called, after every module involved is complete, so it cannot fail at import time.
* A stricter form of the same rule: no cycles even when the imports inside functions count too.
  A function-level import that points back up the graph only hides a cycle (the engine's method
  look-up and the audio-visual model's test helper once did), so it is not allowed either.
* The engine's methods (``workers.engine.methods.*``) share helpers only through modules of
  their own (``_utils``, ``attention``, ``grid``, ``registry``, ``run``): a method module never
  imports another method module, nor ``workers.engine`` or ``workers.engine.core`` (which import
  the methods), not even inside a function.
* A module over ~500 lines says in its docstring that its size is one concern.
"""

from __future__ import annotations

import ast

from tests.import_graph import (
    ROOT,
    describe,
    import_cycles,
    import_edges,
    module_files,
    resolve,
)

PACKAGE = "workers"
FORBIDDEN = ("django", "rest_framework", "wherewhen")
MAX_LINES = 500
ONE_CONCERN = "one concern"


# --- the rules ----------------------------------------------------------------------------------


def test_workers_never_imports_the_web_side():
    bad = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in import_edges(ROOT, PACKAGE)
        if e.target.split(".")[0] in FORBIDDEN
    ]
    assert not bad, "workers must run without Django and the platform:\n" + "\n".join(bad)


def test_no_import_cycles_in_workers():
    files = module_files(ROOT, PACKAGE)
    edges = import_edges(ROOT, PACKAGE)
    assert len(files) > 30 and any(  # the graph is really read (a guard against a vacuous pass)
        e.source == "workers.engine.core" and e.target == "workers.engine.registry" for e in edges
    )
    cycles = import_cycles(edges, set(files))
    assert not cycles, "module-level import cycles:\n" + "\n".join(
        describe(c, edges, set(files)) for c in cycles
    )


def test_no_import_cycles_even_through_function_level_imports():
    files = set(module_files(ROOT, PACKAGE))
    edges = import_edges(ROOT, PACKAGE)
    cycles = import_cycles(edges, files, deferred=True)
    assert not cycles, "import cycles (function-level imports counted):\n" + "\n".join(
        describe(c, edges, files) for c in cycles
    )


def test_method_modules_import_only_shared_helpers():
    files = module_files(ROOT, PACKAGE)
    methods = "workers.engine.methods"
    assert any(m.startswith(methods + ".") for m in files)
    bad = []
    for e in import_edges(ROOT, PACKAGE):
        if not e.source.startswith(methods + "."):
            continue
        target = resolve(e.target, set(files))
        if target in (methods, "workers.engine", "workers.engine.core") or (
            target is not None and target.startswith(methods + ".") and target != e.source
        ):
            bad.append(f"{e.source}:{e.line} imports {e.target}")
    assert not bad, "shared helpers belong in their own module:\n" + "\n".join(bad)


def test_long_modules_say_why():
    long = []
    for module, path in module_files(ROOT, PACKAGE).items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if lines > MAX_LINES and ONE_CONCERN not in " ".join(docstring.split()):
            long.append(f"{module} ({lines} lines)")
    assert not long, (
        f"modules over {MAX_LINES} lines: split them, or say in the module docstring that the "
        f"size is {ONE_CONCERN}: " + ", ".join(long)
    )


# --- the checker itself -------------------------------------------------------------------------


def test_the_checker_finds_cycles_and_resolves_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import x\n")
    (pkg / "a.py").write_text("from . import b\nx = 1\n")
    (pkg / "b.py").write_text("import pkg.sub.c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..a import x\n"
        "def later():\n    from pkg import b\n    import django.db\n"
    )
    (pkg / "d.py").write_text("def f():\n    from pkg import d\n")
    (pkg / "e.py").write_text("import pkg.f\n")
    (pkg / "f.py").write_text("def g():\n    import pkg.e\n")
    files = module_files(tmp_path, "pkg")
    edges = import_edges(tmp_path, "pkg")
    found = {(e.source, e.target, e.deferred) for e in edges}
    assert ("pkg.a", "pkg.b", False) in found  # relative ``from . import module``
    assert ("pkg.sub.c", "pkg.a", False) in found  # relative, two levels, TYPE_CHECKING
    assert ("pkg.sub.c", "pkg.b", True) in found  # inside a function
    assert ("pkg.sub.c", "django.db", True) in found
    assert import_cycles(edges, set(files)) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    assert sorted(import_cycles(edges, set(files), deferred=True)) == [
        ["pkg.a", "pkg.b", "pkg.sub.c"],
        ["pkg.d"],  # a module importing itself, inside a function
        ["pkg.e", "pkg.f"],  # closed by an import inside a function
    ]
