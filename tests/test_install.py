"""Installs: the demo's pages ship in the package, and a wheel runs the demo outside a checkout."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

from hkarchive.cli import DEMO_MIRROR
from tests.conftest import MIRROR, REPO_ROOT

# The parts of tests/mirror the demo crawls, copied into the package: every GovHK day (not
# the RSS feeds: the demo names its days), CAiRS, CPII's REST API, the reconstructed smartcity
# site. The other sites of tests/mirror are the tests' own.
DEMO_PARTS = (
    "www.info.gov.hk/gia/general",
    "www.cairs.hk",
    "www.cpii.hk/wp-json",
    "www.smartcity.example",
)
# Not copied into the wheel's source tree: a developer's or CI's local state.
_LOCAL_STATE = {".git", ".venv", "build", "dist", "data"}


def _files(root: Path) -> dict[str, Path]:
    """Every file under root, by its path relative to root."""
    return {path.relative_to(root).as_posix(): path for path in root.rglob("*") if path.is_file()}


def test_the_packaged_demo_mirror_is_a_byte_identical_part_of_the_tests_mirror() -> None:
    packaged = _files(DEMO_MIRROR)
    wanted = {
        f"{part}/{name}": path
        for part in DEMO_PARTS
        for name, path in _files(MIRROR / part).items()
    }
    fix = "copy the demo's parts of tests/mirror into hkarchive/demo/mirror (DEMO_PARTS)"
    assert sorted(set(wanted) - set(packaged)) == [], f"missing from the package: {fix}"
    assert sorted(set(packaged) - set(wanted)) == [], f"not in tests/mirror: {fix}"
    differing = [
        name for name, path in wanted.items() if path.read_bytes() != packaged[name].read_bytes()
    ]
    assert differing == [], f"the package's copy differs: {fix}"


def _ignore_local_state(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == REPO_ROOT
    return {
        name
        for name in names
        if (top and (name in _LOCAL_STATE or name.endswith("_cache") or name == ".hypothesis"))
        or name == "__pycache__"
        or name.endswith(".egg-info")
    }


def _run(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args[:4]}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


def test_a_wheel_installed_outside_the_checkout_runs_the_demo(tmp_path: Path) -> None:
    # Built from a copy of the tree, as from a clean clone: nothing of the checkout's build
    # state leaks in, and the checkout gains no build/ folder.
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_ignore_local_state)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)])
    [wheel] = wheels.glob("hkarchive-*.whl")

    # A fresh venv holding only the wheel; its dependencies are read from this interpreter's
    # site-packages through a .pth line (a plain path: the editable install's own .pth files
    # there are not run, so the checkout cannot be imported), which keeps the test offline.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())  # fmt: skip
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    # --ignore-installed: never uninstall the editable hkarchive that the .pth line shows pip.
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          "--ignore-installed", str(wheel)])  # fmt: skip

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HKARCHIVE_", "PYTHON"))}
    where = _run([str(python), "-c", "import hkarchive; print(hkarchive.__file__)"],
                 cwd=elsewhere, env=env).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv), f"hkarchive imported from {where}, not the wheel"

    db = tmp_path / "archive.db"
    demo = _run([str(venv / "bin" / "hkarchive"), "demo", "--db", str(db)], cwd=elsewhere, env=env)
    assert "story 1: 4 items from cairs, cpii, govhk, smartcity" in demo.stdout
    conn = sqlite3.connect(db)
    try:
        sources = dict(conn.execute("SELECT source, count(*) FROM articles GROUP BY source"))
    finally:
        conn.close()
    assert sorted(sources) == ["cairs", "cpii", "govhk", "smartcity"]
    assert all(count > 0 for count in sources.values())
