"""The docs, and the hints in Pulse's messages that point at them.

- A hint that points at the docs names a file and a section that exist: in Pulse's
  code (every string literal under pipeline/) and in the demo project's config
  comments, `docs/<file>.md '<Heading>'` or `README.md '<Heading>'` must name a
  markdown heading with exactly that text. A bare `README '...'` (no file) is an
  error, and so is, in a message, a docs file named without a section.
- The hints config errors build at run time point at the section of the key.
- README.md stays the entry point: at most 260 lines, it links only files that exist
  and links every file in docs/; its minimal project builds as shown.
- The docs describe the product as it is, never the work that made it.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

from support.project import REPO, run_pulse

README = REPO / "README.md"
DOCS = REPO / "docs"
MARKDOWN = [README, *sorted(DOCS.glob("*.md"))]

REFERENCE = re.compile(r"((?:README|docs/[\w.-]+)\.md) '([^']+)'")  # a file and a section
MENTION = re.compile(r"README(?:\.md)?|docs/[\w.-]+\.md")  # any mention of the docs
BARE_README = re.compile(r"README ['\"]")  # README 'Section': which file?
FILE_NAME = re.compile(r"README\.md|docs/[\w.-]+\.md")
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")  # a markdown link's target and anchor

# Files another branch adds (docs/security.md: the query sandbox). The README links them
# already; remove a file from here once it exists (the test below insists).
NOT_YET_MERGED: set[Path] = set()

PAST_WORK = (
    "this round", "last round", "previous round", "earlier round", "next round",
    "before the performance work", "after the performance work", "at the start of",
    "previously", "used to be", "no longer", "was rewritten", "were rewritten", "we changed",
)


def headings(path: Path) -> set[str]:
    """The text of every markdown heading of `path` (outside fenced code blocks)."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} +(.+?) *#* *$", line)):
            found.add(match.group(1))
    return found


def reference_problem(file_name: str, section: str) -> str | None:
    """Why `file_name 'section'` does not resolve, or None when it does."""
    path = REPO / file_name
    if not path.is_file():
        return f"{file_name} does not exist"
    if section not in headings(path):
        return f"{file_name} has no heading '{section}'"
    return None


def string_literals(path: Path) -> list[tuple[int, str, bool]]:
    """(line, text, is_docstring) of every string literal in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value, id(node) in docstrings) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def text_problems(text: str, strict: bool) -> list[str]:
    """Problems of the docs references in one text; `strict`: every mention needs a section."""
    bare = list(BARE_README.finditer(text))
    problems = [f"'{m.group(0)}...': name the file, e.g. README.md '...' or docs/<file>.md '...'" for m in bare]
    referenced = {m.start() for m in bare}
    for match in REFERENCE.finditer(text):
        referenced.add(match.start())
        problem = reference_problem(match.group(1), match.group(2))
        if problem:
            problems.append(f"{match.group(0)}: {problem}")
    if strict and not FILE_NAME.fullmatch(text):  # a file's name alone (a file to write) is no reference
        problems += [f"'{m.group(0)}' without a section: write {m.group(0)} '<Heading>'"
                     for m in MENTION.finditer(text) if m.start() not in referenced]
    return problems


def test_every_docs_reference_in_the_code_names_a_section_that_exists():
    problems = []
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        for line, text, is_docstring in string_literals(path):
            problems += [f"{path.relative_to(REPO)}:{line}: {p}" for p in text_problems(text, strict=not is_docstring)]
    assert not problems, "\n".join(problems)


def test_docs_references_in_config_comments_and_build_files_exist():
    paths = [*sorted((REPO / "config").glob("*.yaml")), REPO / "Makefile", REPO / ".ci" / "run"]
    problems = [f"{path.relative_to(REPO)}: {p}" for path in paths if path.is_file()
                for p in text_problems(path.read_text(encoding="utf-8"), strict=False)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("text, expected", [
    ("see docs/configuration.md 'Sources'", []),
    ("see README.md 'A minimal project'", []),
    ("see README 'Configuration'", ["name the file"]),
    ("see docs/configuration.md 'No such heading'", ["has no heading"]),
    ("see docs/nothing.md 'Sources'", ["does not exist"]),
    ("see docs/configuration.md", ["without a section"]),
    ("see the README", ["without a section"]),
    ("see docs/configuration.md 'Check-ins' and docs/commands.md 'Exit codes'", []),
    ("README.md", []),  # a file's name alone, e.g. the README pulse init writes, is no reference
])
def test_the_reference_check_itself(text, expected):
    problems = text_problems(text, strict=True)
    assert len(problems) == len(expected)
    assert all(word in problem for word, problem in zip(expected, problems))


def test_a_heading_inside_a_code_block_is_not_a_section(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n```yaml\n# Project settings\nproject: {}\n```\n## Real one\n", encoding="utf-8")
    assert headings(page) == {"Title", "Real one"}


def _broken_project(root: Path) -> Path:
    """A project whose config has one wrong value in each part that has its own docs section."""
    (root / "config").mkdir(parents=True)
    (root / "queries").mkdir()
    (root / "queries" / "revenue.sql").write_text("SELECT 1", encoding="utf-8")
    files = {
        "pulse.yaml": "project:\n  company: Acme\n  fiscal_year_start: 13\n",
        "sources.yaml": "sources:\n  sales:\n    paths: [data/*.csv]\n    options: {decimal: ';'}\n"
                        "    columns:\n      day: {type: instant}\n    checks:\n      volume: {periods: 0}\n",
        "kpis.yaml": "kpis:\n  revenue:\n    title: Revenue\n    unit: money\n",
        "reports.yaml": "reports:\n  monthly:\n    title: Monthly\n    kpis: [revenue]\n"
                        "    schedule: {cron: '0 7 2 *'}\n    email: {send_to: []}\n",
    }
    for name, text in files.items():
        (root / "config" / name).write_text(text, encoding="utf-8")
    return root


def test_config_error_hints_point_at_the_section_of_the_key(tmp_path):
    from pipeline.config import collect_problems

    _config, problems = collect_problems(_broken_project(tmp_path))
    hints = {p.message.split(":")[2].strip(): p.hint for p in problems}
    expected = {
        "project.fiscal_year_start": "docs/configuration.md 'Project settings'",
        "sources.sales.options.decimal": "docs/configuration.md 'Reader options'",
        "sources.sales.columns.day.type": "docs/configuration.md 'Column contract and primary key'",
        "sources.sales.checks.volume.periods": "docs/configuration.md 'Data-quality gate'",
        "kpis.revenue.unit": "docs/configuration.md 'KPIs'",
        "reports.monthly.schedule.cron": "docs/email-and-scheduling.md 'Scheduling'",
        "reports.monthly.email": "docs/email-and-scheduling.md 'The email block of a report'",
    }
    for key, reference in expected.items():
        assert key in hints, f"no error for {key}: {sorted(hints)}"
        assert reference in hints[key], f"{key}: {hints[key]}"
    for hint in hints.values():
        assert not text_problems(hint, strict=True), hint


def test_the_readme_is_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= 260, f"README.md has {lines} lines; move reference material to docs/"


def test_links_point_at_files_that_exist():
    problems = []
    for page in MARKDOWN:
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = match.group(1)
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path = (page.parent / target).resolve()
            if not path.exists() and path not in NOT_YET_MERGED:
                problems.append(f"{page.relative_to(REPO)}: link to {target}, which does not exist")
            anchor = match.group(2)
            if anchor and path.suffix == ".md" and path.exists():
                slugs = {_slug(h) for h in headings(path)}
                if anchor[1:] not in slugs:
                    problems.append(f"{page.relative_to(REPO)}: link to {target}{anchor}: no such heading")
    assert not problems, "\n".join(problems)


def test_files_not_yet_merged_are_still_missing():
    arrived = [str(p.relative_to(REPO)) for p in NOT_YET_MERGED if p.exists()]
    assert not arrived, f"{arrived} exist now: remove them from NOT_YET_MERGED in tests/unit/test_docs.py"


def test_the_readme_links_every_docs_file():
    text = README.read_text(encoding="utf-8")
    linked = {(README.parent / m.group(1)).resolve() for m in LINK.finditer(text)}
    missing = [str(p.relative_to(REPO)) for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md's 'Where to read on' does not link {missing}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_the_docs_describe_the_product_not_past_work(page):
    text = " ".join(page.read_text(encoding="utf-8").lower().split())
    found = [phrase for phrase in PAST_WORK if phrase in text]
    assert not found, f"{page.relative_to(REPO)} talks about past work: {found}"


def _minimal_project_files() -> dict[str, str]:
    """The files of the README's minimal project: each fenced block after the path it names."""
    section = README.read_text(encoding="utf-8").split("## A minimal project", 1)[1].split("\n## ", 1)[0]
    files, position = {}, 0
    for block in re.finditer(r"```(\w*)\n(.*?)```", section, re.S):
        before = section[position:block.start()]
        position = block.end()
        paths = re.findall(r"`((?:config|queries|data)/[\w./-]+)`", before)
        if paths:
            files[paths[-1]] = block.group(2)
    return files


def test_the_minimal_project_of_the_readme_builds(tmp_path, monkeypatch, capsys):
    files = _minimal_project_files()
    assert {"config/pulse.yaml", "config/sources.yaml", "config/kpis.yaml", "config/reports.yaml",
            "queries/revenue.sql"} <= set(files) and any(p.startswith("data/") for p in files)
    project = tmp_path / "acme"
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    section = README.read_text(encoding="utf-8").split("## A minimal project", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0] for line in section.splitlines() if line.startswith(".venv/bin/pulse ")]
    assert len(commands) >= 1
    for command in commands:
        args = shlex.split(command.replace("~/acme", str(project)))[1:]
        code, _out, err = run_pulse(args, tmp_path, monkeypatch, capsys)
        assert code == 0, f"{command}: {err}"
    built = project / "reports" / "monthly" / "2026-10"
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kpis"]["revenue"]["value"] == pytest.approx(420.50 + 310.00 + 385.25)
    assert "£1,116" in (built / "monthly.html").read_text(encoding="utf-8")  # the figure the README quotes
    assert "£1,116" in section and (built / "monthly.pdf").stat().st_size > 0
