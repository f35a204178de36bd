"""No module imports itself through others, read from grimp's import graph (the one `lint-imports`
checks pyproject.toml's contracts on), which holds the imports inside functions too: a lazy import
hides a circle from the interpreter's load order, never from this test. import-linter's
acyclic_siblings contract misses a circle through a package's own __init__ (tasks ->
tasks.registry -> tasks), so this rule stays a test."""

from __future__ import annotations

import grimp

PACKAGES = ("bench", "baselines", "tasks", "leaderboard", "compbench")


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """For each import a -> b that closes a circle, the circle a -> b -> ... -> a."""
    return [[a, *graph.find_shortest_chain(importer=b, imported=a)]
            for a in sorted(graph.modules)
            for b in sorted(graph.find_modules_directly_imported_by(a))
            if graph.chain_exists(importer=b, imported=a)]


def test_the_graph_sees_lazy_imports():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    # Imported inside the command's function (leaderboard is slow to import).
    assert "leaderboard.report" in graph.find_modules_directly_imported_by("bench.commands.run")


def test_a_circle_is_found():
    graph = grimp.ImportGraph()
    for importer, imported in (("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")):
        graph.add_import(importer=importer, imported=imported)
    assert circles(graph) == [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"]]


def test_no_module_imports_itself_through_others():
    assert circles(grimp.build_graph(*PACKAGES, cache_dir=None)) == []
