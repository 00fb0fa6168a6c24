"""The deployment recipes in contrib/: both schedules in Hong Kong time, the paths of the
install script everywhere, valid units (systemd-analyze) and a script bash can parse."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CONTRIB = REPO_ROOT / "contrib"
INSTALL = CONTRIB / "install.sh"
UNITS = [
    "hkarchive-crawl.service",
    "hkarchive-crawl.timer",
    "hkarchive-check.service",
    "hkarchive-check.timer",
]
HONG_KONG = "Asia/Hong_Kong"


def script_value(name: str) -> str:
    """A `readonly NAME=value` of install.sh, with $VARS of earlier ones expanded."""
    text = INSTALL.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for key, value in re.findall(r"^readonly (\w+)=(.+)$", text, re.MULTILINE):
        value = value.strip('"')
        values[key] = re.sub(r"\$(\w+)", lambda m: values[m[1]], value)
    return values[name]


def unit(name: str) -> dict[str, list[str]]:
    """A unit file's settings, `Section.Key` -> every value given (Environment= repeats)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in (CONTRIB / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


def cron_lines() -> tuple[dict[str, str], list[list[str]]]:
    """The cron recipe's variables and its jobs (each split into at most 7 fields), in order;
    a job is given the CRON_TZ set above it as its first field."""
    variables: dict[str, str] = {}
    jobs: list[list[str]] = []
    for line in (CONTRIB / "hkarchive.cron").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            variables[key] = value
            continue
        jobs.append([variables.get("CRON_TZ", ""), *line.split(None, 6)])
    return variables, jobs


def test_both_systemd_schedules_are_in_hong_kong_time() -> None:
    for timer in ("hkarchive-crawl.timer", "hkarchive-check.timer"):
        [calendar] = unit(timer)["Timer.OnCalendar"]
        assert calendar.endswith(f" {HONG_KONG}"), f"{timer}: {calendar}"
    assert unit("hkarchive-check.timer")["Timer.OnCalendar"] == [f"*-*-* 08:30:00 {HONG_KONG}"]


def test_both_cron_jobs_are_in_hong_kong_time_and_match_the_timers() -> None:
    _, jobs = cron_lines()
    commands = {job[7].split()[1]: job for job in jobs}
    assert sorted(commands) == ["check", "crawl"]
    for job in jobs:
        assert job[0] == HONG_KONG, f"CRON_TZ must come before: {job}"
    # Minute and hour: the crawl every hour, the check at 08:30 as hkarchive-check.timer.
    assert commands["crawl"][2] == "*"
    assert commands["check"][1:3] == ["30", "8"]


def test_the_recipes_use_the_install_scripts_user_virtualenv_and_folders() -> None:
    user, venv = script_value("USER_NAME"), script_value("VENV")
    data, logs = script_value("DATA_DIR"), script_value("LOG_DIR")
    assert (user, venv, data, logs) == (
        "hkarchive",
        "/opt/hkarchive/.venv",
        "/var/lib/hkarchive",
        "/var/log/hkarchive",
    )
    program = f"{venv}/bin/hkarchive"
    for name in ("hkarchive-crawl.service", "hkarchive-check.service"):
        service = unit(name)
        assert service["Service.User"] == [user]
        assert service["Service.Group"] == [user]
        [command] = service["Service.ExecStart"]
        assert command.split()[0] == program, name
        assert f"HKARCHIVE_DB={data}/archive.db" in service["Service.Environment"], name
        assert service["Service.WorkingDirectory"] == [data]
        # StateDirectory= names a folder under /var/lib: the archive's.
        assert service["Service.StateDirectory"] == [Path(data).name]
    variables, jobs = cron_lines()
    assert variables["HKARCHIVE_DB"] == f"{data}/archive.db"
    for job in jobs:
        assert job[6] == user
        assert job[7].split()[0] == program
    [crawl] = [job for job in jobs if job[7].split()[1] == "crawl"]
    assert f"--log-file {logs}/crawl.log" in crawl[7]
    rotate = (CONTRIB / "hkarchive.logrotate").read_text(encoding="utf-8")
    assert f"\n{logs}/crawl.log {{" in rotate
    assert f"su {user} {user}" in rotate


def test_the_install_script_installs_every_recipe_it_ships() -> None:
    text = INSTALL.read_text(encoding="utf-8")
    for name in UNITS:
        assert name in text
    assert "put hkarchive.cron " in text
    assert "put hkarchive.logrotate " in text
    timers = re.search(r"^readonly TIMERS=\((.+?)\)", text, re.MULTILINE | re.DOTALL)
    assert timers is not None
    assert timers[1].split() == ["hkarchive-crawl.timer", "hkarchive-check.timer"]


def test_the_install_script_parses() -> None:
    done = subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert os.access(INSTALL, os.X_OK), "contrib/install.sh is not executable"


def _dry_run(*args: str, **env: str) -> list[str]:
    done = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", *args],
        capture_output=True,
        text=True,
        # The script's Python, as on a machine whose python3 is older than 3.11.
        env={**os.environ, "PYTHON": sys.executable, **env},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_dry_run_shows_every_step() -> None:
    lines = _dry_run("--systemd", "/somewhere/hkarchive.whl", HKARCHIVE_CONTACT="https://x.hk/c")
    text = "\n".join(lines)
    assert (
        "+ useradd --system --user-group --home-dir /var/lib/hkarchive" in text
        or "install.sh: user hkarchive exists" in text
    )
    owned = "-o hkarchive -g hkarchive -m 0750 /var/lib/hkarchive /var/log/hkarchive"
    assert f"+ install -d {owned}" in lines
    assert f"+ {sys.executable} -m venv /opt/hkarchive/.venv" in lines or "virtualenv" in text
    pip = "/opt/hkarchive/.venv/bin/pip install --quiet --upgrade"
    assert f"+ {pip} /somewhere/hkarchive.whl" in lines
    for name in UNITS:
        assert re.search(rf"\|https://x\.hk/c\|.* > /etc/systemd/system/{name}$", text, re.M), name
    assert "+ systemctl enable --now hkarchive-crawl.timer hkarchive-check.timer" in lines
    cron = _dry_run("--cron")
    assert any(line.endswith("> /etc/cron.d/hkarchive") for line in cron)
    assert any(line.endswith("> /etc/logrotate.d/hkarchive") for line in cron)


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (systemd's units are checked where it is)")
    system = Path("/usr/lib/systemd/system")
    if not system.is_dir():
        pytest.skip(f"{system} is missing: systemd-analyze has no units to resolve ours against")
    # A root of our own: the units where install.sh puts them, systemd's own units beside them
    # (timers.target, sysinit.target), and the program they start, which verify looks for.
    root = tmp_path / "root"
    shutil.copytree(system, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    for name in UNITS:
        shutil.copy(CONTRIB / name, root / "etc" / "systemd" / "system" / name)
    program = root / script_value("VENV").lstrip("/") / "bin" / "hkarchive"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    done = subprocess.run(
        [analyze, f"--root={root}", "verify", *UNITS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Warnings (an unknown key, say) go to the output without failing: none is allowed.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
