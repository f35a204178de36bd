"""The docs cannot drift from the repository: every relative link and every repository file a page
names exists, every `compbench ...` command quoted parses with its full arguments, and no page
holds an absolute path of a machine or an issue number."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from bench.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
                *(ROOT / "experiments").glob("*/README.md")])
USER_PAGES = [p for p in PAGES if "experiments" not in p.parts]  # records may name their machine
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NAMED = re.compile(r"`((?:bench|baselines|tasks|leaderboard|tests|docs|experiments)/[\w./-]+)`")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`(compbench [^`]*)`")
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:work|root|home|tmp|mnt|opt)/[\w.-]+")
ISSUE = re.compile(r"\bissues?\s+#?\d+|(?<![\w&])#\d+\b", re.I)


def ids(pages):
    return [str(p.relative_to(ROOT)) for p in pages]


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_every_relative_link_and_named_file_exists(page):
    text = page.read_text()
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists():
            missing.append(target)
    if page in USER_PAGES:  # an experiment's record may name files it removed
        missing += [name for name in NAMED.findall(text)
                    if "<" not in name and not (ROOT / name.rstrip("/")).exists()]
    assert not missing, missing


def commands(text: str) -> list[str]:
    """The compbench command lines of a page's code blocks, usage synopses ({a|b}, [OPTIONS])
    left out."""
    found = [line.split(" #")[0] for block in FENCE.findall(text)
             for line in block.replace("\\\n", " ").splitlines()
             if line.strip().startswith("compbench ")]
    return [c.strip() for c in found if not re.search(r"\.\.\.|[{\[|]", c)]


def mentions(text: str) -> list[str]:
    """The compbench commands quoted inline (`compbench report DIR --markdown PAGE`)."""
    return [" ".join(c.split()) for c in INLINE.findall(text) if not re.search(r"\.\.\.|[{\[|]", c)]


def parse(command: str) -> None:
    """Parse `command` as click would run it, down to its leaf command (a path that must exist
    may not here: only the command line's shape is checked)."""
    args = shlex.split(command)[1:]
    cmd, name = main, "compbench"
    while isinstance(cmd, click.Group) and args and not args[0].startswith("-"):
        if args[0].isupper():  # a placeholder (`compbench COMMAND --help`): the shape is all
            return
        name, cmd = args[0], cmd.commands.get(args[0])
        assert cmd is not None, f"no command {name!r}"
        args = args[1:]
    try:
        cmd.make_context(name, list(args))
    except click.BadParameter as err:  # an example's path or plugin module, not at hand here
        if "does not exist" not in str(err) and "cannot import" not in str(err):
            raise


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_every_quoted_command_parses(page):
    """A command in a code block parses whole; one quoted inline may name a command without its
    arguments (`compbench rescore`), but every option it gives must be valid."""
    text = page.read_text()
    for command, whole in [*((c, True) for c in commands(text)),
                           *((c, False) for c in mentions(text))]:
        try:
            parse(command)
        except click.exceptions.Exit:
            pass  # --help and the like
        except (click.MissingParameter, click.exceptions.NoArgsIsHelpError) as err:
            if whole:
                pytest.fail(f"{command!r}: {err}")
        except click.UsageError as err:
            pytest.fail(f"{command!r}: {err}")


def test_the_checks_can_fail():
    with pytest.raises(click.UsageError):
        parse("compbench run --no-such-option")
    page = "compbench is prose\n```bash\ncompbench report DIR  # a comment\n```\n`compbench run -h`"
    assert commands(page) == ["compbench report DIR"] and mentions(page) == ["compbench run -h"]
    assert MACHINE_PATH.search("kept in /work/cmp4 then") and ISSUE.search("see issue 13")


@pytest.mark.parametrize("page", USER_PAGES, ids=ids(USER_PAGES))
def test_no_machine_path_or_issue_number(page):
    text = page.read_text()
    assert not MACHINE_PATH.findall(text) and not ISSUE.findall(text)


def test_the_package_tour_names_every_module():
    """docs/index.md's tour has a line for every product module (package markers aside)."""
    tour = (ROOT / "docs" / "index.md").read_text()
    modules = [p.relative_to(ROOT).as_posix() for package in ("bench", "baselines", "tasks",
                                                              "leaderboard", "compbench")
               for p in sorted((ROOT / package).rglob("*.py")) if p.name != "__init__.py"]
    assert len(modules) > 50
    assert [m for m in modules if f"`{m}`" not in tour] == []
