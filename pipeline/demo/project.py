"""The demo project's own files: config/, queries/ and report_templates/ of Nordlys Kaffe ApS.

In a source checkout they are the repository's own folders (the repository is
the demo project); an installed wheel carries a copy under
`pipeline/demo/project_files/` (see `[tool.hatch.build.targets.wheel.force-include]`
in pyproject.toml). `pulse init DIR --demo` copies them and generates the
exports with `pipeline.demo.generate`.
"""

from __future__ import annotations

from pathlib import Path

FOLDERS = ("config", "queries", "report_templates")


def project_folder() -> Path:
    """The folder holding the demo's config/, queries/ and report_templates/."""
    packaged = Path(__file__).resolve().parent / "project_files"
    checkout = Path(__file__).resolve().parents[2]
    for folder in (packaged, checkout):
        if all((folder / name).is_dir() for name in FOLDERS) and (folder / "config" / "pulse.yaml").is_file():
            return folder
    raise FileNotFoundError(f"the demo project's files are missing (looked in {packaged} and {checkout})")


def project_files() -> dict[str, bytes]:
    """Every file of the demo project's folders: path relative to the project -> content."""
    root = project_folder()
    files = {}
    for name in FOLDERS:
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files
