"""Import rules of the platform (``platform/wherewhen``), read from source with ``ast``.

* **The web never imports torch.** No chain of module-level imports from any ``wherewhen``
  module reaches ``torch``, ``transformers``, ``captum`` or ``torchvision``, through the
  platform's own modules or through ``workers`` (only the gpu worker's code paths import the
  engine, inside the functions that run there). A test in ``test_stdlib_platform`` checks the
  same at run time in a Django process.
* **Apps import each other only through their public modules.** A domain app (videos,
  annotations, explanations, scoring, studies) offers other apps its ``services`` package (the
  public API; never its submodules), its ``models`` (for relations and queries) and its
  ``demo`` (demo data for ``seed_demo``); ``core`` and ``accounts`` are the foundation every app
  builds on. The project modules (settings, urls, the Celery, WSGI and ASGI apps) wire the apps
  together and are exempt. Migrations are exempt.
* **No cycles** among platform modules (module-level imports; an import inside a function runs
  after every module is complete).
* **Services speak the domain, not HTTP**: nothing under an app's ``services`` imports Django
  REST framework.
* A module over ~500 lines says in its docstring that its size is one concern.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.import_graph import ROOT, describe, import_cycles, import_edges, module_files, resolve

PLATFORM = ROOT / "platform"
PACKAGE = "wherewhen"
DOMAIN_APPS = ("videos", "annotations", "explanations", "scoring", "studies")
FOUNDATION = ("core", "accounts")
PUBLIC = ("services", "models", "demo")
PROJECT_MODULES = {"wherewhen", "wherewhen.settings", "wherewhen.urls", "wherewhen.celery"}
PROJECT_MODULES |= {"wherewhen.wsgi", "wherewhen.asgi"}
HEAVY = ("torch", "transformers", "captum", "torchvision")
MAX_LINES = 500
ONE_CONCERN = "one concern"


def platform_files() -> dict[str, Path]:
    return {m: p for m, p in module_files(PLATFORM, PACKAGE).items() if ".migrations" not in m}


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return (
        parts[1] if len(parts) > 2 or (len(parts) == 2 and module not in PROJECT_MODULES) else None
    )


def test_the_web_never_reaches_torch_at_import_time():
    files = platform_files()
    workers = module_files(ROOT, "workers")
    known = set(files) | set(workers)
    edges = import_edges(PLATFORM, PACKAGE, files) + import_edges(ROOT, "workers", workers)
    graph: dict[str, list] = {}
    for e in edges:
        if not e.deferred:
            graph.setdefault(e.source, []).append(e)
    assert any(e.target.startswith("workers.") for e in graph.get("wherewhen.scoring.targets", []))
    # breadth-first from every platform module over module-level imports, keeping one path
    paths: dict[str, list[str]] = {m: [m] for m in files}
    queue = list(files)
    found = []
    while queue:
        module = queue.pop(0)
        for e in graph.get(module, []):
            if e.target.split(".")[0] in HEAVY:
                found.append(" -> ".join([*paths[module], e.target]))
                continue
            target = resolve(e.target, known)
            if target is not None and target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    assert not found, "the web process must not import torch:\n" + "\n".join(found)


def test_apps_import_each_other_only_through_public_modules():
    files = platform_files()
    bad = []
    for e in import_edges(PLATFORM, PACKAGE, files):
        source_app = app_of(e.source)
        if e.source in PROJECT_MODULES or source_app is None:
            continue
        target = resolve(e.target, set(files))
        if target is None or not target.startswith(PACKAGE + "."):
            continue
        target_app = target.split(".")[1]
        if target_app in (source_app, *FOUNDATION) or target in PROJECT_MODULES:
            continue
        public = {f"{PACKAGE}.{target_app}"} | {f"{PACKAGE}.{target_app}.{p}" for p in PUBLIC}
        if target not in public:
            bad.append(f"{e.source}:{e.line} imports {target}")
    assert not bad, "apps use each other only through services, models or demo:\n" + "\n".join(
        sorted(set(bad))
    )


def test_no_import_cycles_in_the_platform():
    files = platform_files()
    edges = import_edges(PLATFORM, PACKAGE, files)
    assert len(files) > 60
    cycles = import_cycles(edges, set(files))
    assert not cycles, "module-level import cycles:\n" + "\n".join(
        describe(c, edges, set(files)) for c in cycles
    )


def test_services_do_not_speak_http():
    files = platform_files()
    bad = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in import_edges(PLATFORM, PACKAGE, files)
        if ".services" in e.source and e.target.split(".")[0] == "rest_framework"
    ]
    assert not bad, "services raise wherewhen.core.exceptions, views speak HTTP:\n" + "\n".join(bad)


def test_long_platform_modules_say_why():
    long = []
    for module, path in platform_files().items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if lines > MAX_LINES and ONE_CONCERN not in " ".join(docstring.split()):
            long.append(f"{module} ({lines} lines)")
    assert not long, (
        f"modules over {MAX_LINES} lines: split them, or say in the module docstring that the "
        f"size is {ONE_CONCERN}: " + ", ".join(long)
    )
