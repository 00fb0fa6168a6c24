"""Bad command-line input, for every command: one line naming the problem, the right exit
status (2 for usage, 1 for runtime), no traceback, and nothing written.

Most cases run `hkarchive` in this process (a few hundred runs would take minutes as child
processes); a handful run it as a child process too, to see exactly what a shell sees. Every
crawl is pointed at a loopback port nobody listens on, so a check that failed to fire ends in
"cannot connect to the mirror" (and a failing test) rather than a crawl of the live site.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hkarchive.cli import main
from newsarchive.archive import open_archive
from tests.conftest import REPO_ROOT, run_cli
from tests.test_search import ARTICLES, store

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _refused_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REFUSED = f"http://127.0.0.1:{_refused_port()}"


@pytest.fixture(scope="module")
def archive_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small real archive (four articles, searchable), checkpointed into one file."""
    path = tmp_path_factory.mktemp("archive") / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path.read_bytes()


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under root with its bytes (None for a folder)."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@dataclass
class Run:
    code: int
    stderr: str


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    capsys.readouterr()
    code = main(list(args))
    return Run(code, capsys.readouterr().err)


def assert_refused(result: Run, code: int, *named: str) -> None:
    """Exactly one line on stderr, from hkarchive, naming each of named; status code."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hkarchive: error: "), lines[0]
    for text in named:
        assert text in lines[0], lines[0]
    assert result.code == code, lines[0]


# --- Arguments: dates, sources, languages, mirrors, other options ------------------------------

# Each command with the arguments that make it run against the archive (--db is added).
DATED = {
    "crawl": ["crawl", "govhk", "--mirror", REFUSED],
    "search": ["search", "launch"],
    "export": ["export", "--format", "jsonl"],
}
BAD_DAYS = {
    "no such month": ("2024-13-01", "no such day"),
    "no such day": ("2024-02-30", "no such day"),
    "a bare number": ("5", "use YYYY-MM-DD"),
    "no day of the month": ("May 2024", "use YYYY-MM-DD"),
    "a word that is no day": ("someday", "use YYYY-MM-DD"),
    "empty": ("", "use YYYY-MM-DD"),
    "a NUL byte": ("\x00", "use YYYY-MM-DD"),
    "year 1": ("0001-01-01", "use a day from 1900-01-01 to 2999-12-31"),
    "the last day datetime knows": ("9999-12-31", "use a day from 1900-01-01 to 2999-12-31"),
    "ten thousand years ago": ("10000 years ago", "use YYYY-MM-DD"),
    "day and month in either order": ("05/06/2022", "ambiguous"),
    "day first with dots": ("25.05.2022", "ambiguous"),
    "a two-digit year": ("06/05/22", "ambiguous"),
    "year first, no such month": ("2022/13/05", "no such day"),
    "numbers without a day": ("2022/05", "use YYYY-MM-DD"),
    "a negative relative day": ("-3 days ago", "no signed numbers"),
    "a plus sign": ("+3 days ago", "no signed numbers"),
    "a typographic minus": ("\u22123 days ago", "no signed numbers"),
}

ARG_CASES: dict[str, tuple[list[str], int, str]] = {}
for command, base in DATED.items():
    for name, (value, reason) in BAD_DAYS.items():
        ARG_CASES[f"{command} --since {name}"] = ([*base, "--since", value], 2, reason)
    ARG_CASES[f"{command} --until year 1"] = ([*base, "--until", "0001-01-01"], 2, "--until")
    ARG_CASES[f"{command} since after until"] = (
        [*base, "--since", "2022-05-26", "--until", "2022-05-25"],
        2,
        "--since 2022-05-26 is after --until 2022-05-25",
    )
    ARG_CASES[f"{command} --lang xx"] = ([*base, "--lang", "xx"], 2, "--lang")
ARG_CASES |= {
    "crawl unknown source": (["crawl", "nosuchsite", "--mirror", REFUSED], 2, "'nosuchsite'"),
    "crawl window before GovHK began": (
        ["crawl", "--since", "1900-01-01", "--until", "1997-06-30", "--mirror", REFUSED],
        2,
        "govhk: the window ends on 1997-06-30, before the source's first day, 1997-07-01",
    ),
    "crawl source with a quote": (
        ["crawl", "govhk'; --", "--mirror", REFUSED],
        2,
        "unknown source",
    ),
    "export unknown source": (["export", "--format", "csv", "--source", "nosuch"], 2, "'nosuch'"),
    "reparse unknown source": (["reparse", "--source", "nosuch"], 2, "unknown source 'nosuch'"),
    "search source not archived": (["search", "launch", "--source", "nosuch"], 2, "'nosuch'"),
    "crawl --lang empty": (["crawl", "govhk", "--lang", "", "--mirror", REFUSED], 2, "--lang"),
    "mirror refusing connections": (["crawl", "govhk", "--mirror", REFUSED], 1, "cannot connect"),
    "mirror on port 0": (["crawl", "govhk", "--mirror", "http://127.0.0.1:0"], 1, "cannot connect"),
    "mirror not http": (["crawl", "govhk", "--mirror", "ftp://127.0.0.1"], 2, "invalid mirror URL"),
    "mirror without scheme": (["crawl", "--mirror", "127.0.0.1:8000"], 2, "invalid mirror URL"),
    "mirror without host": (["crawl", "govhk", "--mirror", "http://"], 2, "invalid mirror URL"),
    "mirror empty": (["crawl", "govhk", "--mirror", ""], 2, "invalid mirror URL"),
    "mirror port too big": (
        ["crawl", "--mirror", "http://127.0.0.1:99999"],
        2,
        "port out of range",
    ),
    "mirror port not a number": (["crawl", "--mirror", "http://127.0.0.1:ab"], 2, "invalid mirror"),
    "mirror broken IPv6": (["crawl", "govhk", "--mirror", "http://[::1"], 2, "invalid mirror URL"),
    "mirror host with a space": (["crawl", "--mirror", "http://a b:80"], 2, "invalid mirror URL"),
    "mirror with a query": (["crawl", "--mirror", "http://127.0.0.1/?q=1"], 2, "no query"),
    "log file under a file": (
        ["crawl", "govhk", "--mirror", REFUSED, "--log-file", "{tmp}/afile/crawl.log"],
        2,
        "--log-file",
    ),
    "export out under a file": (
        ["export", "--format", "csv", "--out", "{tmp}/afile/out.csv"],
        2,
        "--out",
    ),
    "export out is a folder": (["export", "--format", "csv", "--out", "{tmp}"], 2, "--out"),
    "export bad format": (["export", "--format", "xml"], 2, "--format"),
    "search without query": (["search"], 2, "QUERY"),
    "search limit 0": (["search", "launch", "--limit", "0"], 2, "--limit"),
    "runs limit 0": (["runs", "--limit", "0"], 2, "--limit"),
    "check negative days": (["check", "--silent-days", "-1"], 2, "--silent-days"),
    "check days past any date": (["check", "--silent-days", "9" * 20], 2, "--silent-days"),
    "check days past ten years": (["check", "--silent-days", "3651"], 2, "--silent-days"),
    "check coverage drop nan": (["check", "--coverage-drop", "nan"], 2, "--coverage-drop"),
    "check coverage drop -nan": (["check", "--coverage-drop", "-nan"], 2, "--coverage-drop"),
    "check coverage drop inf": (["check", "--coverage-drop", "inf"], 2, "--coverage-drop"),
    "runs limit past SQLite's integers": (["runs", "--limit", "9" * 20], 2, "--limit"),
    "story number too big for SQLite": (["story", "9" * 30], 2, "no article or story"),
    "story unknown id": (["story", "govhk:P0"], 2, "no article or story 'govhk:P0'"),
    "story id and relink": (["story", "x", "--relink"], 2, "not both"),
    "history unknown id": (["history", "' OR 1=1 --"], 2, "no article"),
    "pairs unknown id": (["pairs", "'; DROP TABLE articles; --"], 2, "no article"),
    "serve port too big": (["serve", "--port", "70000"], 2, "--port"),
    "mirror serve missing folder": (["mirror", "serve", "{tmp}/missing"], 2, "missing"),
    "mirror serve port too big": (["mirror", "serve", "{tmp}", "--port", "70000"], 2, "--port"),
}


@pytest.fixture
def workdir(tmp_path: Path, archive_bytes: bytes) -> Path:
    """A folder holding a real archive (archive.db) and a regular file (afile)."""
    (tmp_path / "archive.db").write_bytes(archive_bytes)
    (tmp_path / "afile").write_text("a file, not a folder")
    return tmp_path


@pytest.mark.parametrize(("args", "code", "named"), ARG_CASES.values(), ids=ARG_CASES.keys())
def test_bad_argument_is_one_line_with_its_status_and_writes_nothing(
    args: list[str], code: int, named: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.replace("{tmp}", str(workdir)) for a in args]
    if args[:2] == ["mirror", "serve"]:
        args += ["--db", str(workdir / "archive.db")]
    before = snapshot(workdir)
    result = run(capsys, *args, "--db", str(workdir / "archive.db"))
    assert_refused(result, code, named)
    assert snapshot(workdir) == before, "nothing may be written"


def test_the_documented_day_words_are_accepted(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control for the cases above: valid days pass the same checks."""
    db = str(workdir / "archive.db")
    for since in ("2022-05-25", "2022/05/25", "yesterday", "3 days ago", "May 25 2022"):
        result = run(capsys, "search", "launch", "--since", since, "--db", db)
        assert result.code == 0, result.stderr
        assert "error" not in result.stderr


# --- The archive: missing, unwritable, corrupt, of another program or version ------------------


def _truncated(path: Path, archive: bytes) -> None:
    path.write_bytes(archive[: len(archive) // 2])


def _newer_schema(path: Path, archive: bytes) -> None:
    path.write_bytes(archive)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()


def _foreign(path: Path, archive: bytes) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('not an archive')")
    conn.close()


def _read_only_file(path: Path, archive: bytes) -> None:
    path.write_bytes(archive)
    path.chmod(0o444)


def _read_only_folder(path: Path, archive: bytes) -> None:
    path.parent.chmod(0o555)


# name: (make the bad --db path under a folder, what the error names, needs a non-root user)
Maker = Callable[[Path, bytes], object]
BAD_DBS: dict[str, tuple[str, Maker | None, str, bool]] = {
    "under a regular file": ("afile/archive.db", None, "afile", False),
    "a directory": ("folder", lambda p, a: p.mkdir(), "is a directory", False),
    "an empty file": ("archive.db", lambda p, a: p.write_bytes(b""), "archive.db", False),
    "random bytes": ("archive.db", lambda p, a: p.write_bytes(os.urandom(8192)), "database", False),
    "a text file": (
        "archive.db",
        lambda p, a: p.write_text("hello\n" * 500),
        "not a database",
        False,
    ),
    "a truncated archive": ("archive.db", _truncated, "malformed", False),
    "a newer schema": ("archive.db", _newer_schema, "newer than this hkarchive", False),
    "another program's database": ("archive.db", _foreign, "no articles table", False),
    "a read-only file": ("archive.db", _read_only_file, "archive.db", True),
    "in a read-only folder": ("ro/archive.db", _read_only_folder, "ro", True),
}
# SQLite finds these damaged (SQLITE_CORRUPT, SQLITE_NOTADB): a runtime error (1) for every
# command, naming the file and PRAGMA integrity_check.
DAMAGED = {"random bytes", "a text file", "a truncated archive"}
# Commands that read an archive: a bad one is a runtime error (1), as a missing one is.
READERS = {
    "search": ["search", "launch"],
    "export": ["export", "--format", "jsonl"],
    "history": ["history", "govhk:P2022052500588"],
    "runs": ["runs"],
    "check": ["check"],
    "story": ["story", "govhk:P2022052500588"],
    "pairs": ["pairs"],
    "query": ["query", "select count(*) from articles"],
    "reparse": ["reparse"],
    "serve": ["serve", "--port", "0"],
}
# Commands that create the archive: a path they cannot use is a usage error (2).
WRITERS = {
    "crawl": ["crawl", "govhk", "--mirror", REFUSED],
    "demo": ["demo"],
}
# Reading needs no write access, serving an archive of a newer version is only reading, and
# an empty file is where crawl and demo create an archive, as they do where no file is.
NOT_A_FAULT = {
    ("an empty file", "crawl"),
    ("an empty file", "demo"),
    ("a read-only file", "search"),
    ("a read-only file", "export"),
    ("a read-only file", "history"),
    ("a read-only file", "runs"),
    ("a read-only file", "story"),
    ("a read-only file", "serve"),
    ("a read-only file", "check"),
    ("a read-only file", "pairs"),
    ("a read-only file", "query"),
    ("a newer schema", "serve"),
}

ALL_DB_CASES = [
    (db_name, command)
    for command in (*READERS, *WRITERS)
    for db_name in BAD_DBS
    if (db_name, command) not in NOT_A_FAULT
    and not (command in READERS and "read-only folder" in db_name)
]
# Cases whose archive only file modes protect run in a child process of their own, as a user
# those modes stop (see test_a_read_only_archive_is_refused_as_any_user_would_be).
DB_CASES = [
    pytest.param(db_name, command, id=f"{command}: {db_name}")
    for db_name, command in ALL_DB_CASES
    if not BAD_DBS[db_name][3]
]
READ_ONLY_CASES = [
    pytest.param(db_name, command, id=f"{command}: {db_name}")
    for db_name, command in ALL_DB_CASES
    if BAD_DBS[db_name][3]
]


@pytest.mark.parametrize(("db_name", "command"), DB_CASES)
def test_bad_archive_is_one_line_with_its_status_and_left_untouched(
    db_name: str,
    command: str,
    tmp_path: Path,
    archive_bytes: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if command == "serve":
        pytest.importorskip("datasette")
    relative, make, named, _ = BAD_DBS[db_name]
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "ro").mkdir()
    db = tmp_path / relative
    if make is not None:
        make(db, archive_bytes)
    before = snapshot(tmp_path)
    try:
        result = run(capsys, *(READERS | WRITERS)[command], "--db", str(db))
    finally:
        (tmp_path / "ro").chmod(0o755)
    # Click refuses a directory as --db (dir_okay=False) for every command: a usage error.
    # A damaged file, or one that is no database, is the file's fault, not the argument's.
    damaged = db_name in DAMAGED
    usage = (command in WRITERS and not damaged) or db_name == "a directory"
    assert_refused(result, 2 if usage else 1, named, *(["PRAGMA integrity_check"] * damaged))
    assert snapshot(tmp_path) == before, "nothing may be written"


# --- The read-only cases: as a user other than root ------------------------------------------

# unshare(2) flag: a new user namespace. Its process keeps its user id outside, but its
# capabilities hold only inside, over files of the users it maps: it maps none, so file modes
# stop even root (it is "nobody" there).
_CLONE_NEWUSER = 0x10000000
_LIBC = ctypes.CDLL(None, use_errno=True)


def _own_user_namespace() -> None:
    """Run in the child before it starts Python: leave root's power over files behind."""
    if _LIBC.unshare(_CLONE_NEWUSER) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare(CLONE_NEWUSER): {os.strerror(errno)}")


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}


@functools.cache
def _unprivileged() -> tuple[dict[str, Any] | None, str]:
    """How to start hkarchive as a user file modes stop, as arguments of subprocess.run, or
    why it cannot be done here.

    Not root already: a plain child. Root: as nobody, when nobody can run this Python and
    import the project (not so when Python is installed in root's home); else in a user
    namespace of its own. Each way is tried on a read-only file first, so a way that leaves
    root its powers is not taken.
    """
    if not AS_ROOT:
        return {}, ""
    folder = Path(tempfile.mkdtemp(prefix="hkarchive-modes-"))
    try:
        folder.chmod(0o755)
        probe = folder / "read-only"
        probe.write_text("x")
        probe.chmod(0o444)
        check = (
            "import os, sys, hkarchive.cli; "
            f"sys.exit(3 if os.access({str(probe)!r}, os.W_OK) else 0)"
        )
        reasons = []
        for name, how in (
            ("as nobody", {"user": "nobody"}),
            ("in a user namespace", {"preexec_fn": _own_user_namespace}),
        ):
            try:
                done = subprocess.run(
                    [sys.executable, "-c", check], cwd=REPO_ROOT, env=_child_env(),
                    capture_output=True, text=True, timeout=120, check=False, **how,
                )  # fmt: skip
            except (OSError, KeyError, subprocess.SubprocessError) as exc:
                reasons.append(f"{name}: {exc}")
                continue
            if done.returncode == 0:
                return how, ""
            last = (done.stderr.strip().splitlines() or ["file modes do not stop it"])[-1]
            reasons.append(f"{name}: {last}")
        return None, "no way to run hkarchive as a user file modes stop: " + "; ".join(reasons)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder any user can enter (pytest's own is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="hkarchive-case-"))
    folder.chmod(0o755)
    yield folder
    for path in (folder, *folder.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


def test_the_unprivileged_child_is_stopped_by_file_modes(open_tmp: Path) -> None:
    how, why = _unprivileged()
    if how is None:
        pytest.skip(why)
    target = open_tmp / "read-only"
    target.write_text("before")
    target.chmod(0o444)
    done = subprocess.run(
        [sys.executable, "-c", f"open({str(target)!r}, 'w').write('after')"],
        capture_output=True, text=True, timeout=120, check=False, **how,
    )  # fmt: skip
    assert done.returncode == 1 and "PermissionError" in done.stderr, done.stderr
    assert target.read_text() == "before"


@pytest.mark.parametrize(("db_name", "command"), READ_ONLY_CASES)
def test_a_read_only_archive_is_refused_as_any_user_would_be(
    db_name: str, command: str, open_tmp: Path, archive_bytes: bytes
) -> None:
    """The cases of test_bad_archive_... that only file modes make bad, in a child process
    that they stop even when the tests run as root (as CI does)."""
    how, why = _unprivileged()
    if how is None:
        pytest.skip(why)
    relative, make, named, _ = BAD_DBS[db_name]
    (open_tmp / "ro").mkdir()
    db = open_tmp / relative
    assert make is not None
    make(db, archive_bytes)
    before = snapshot(open_tmp)
    done = subprocess.run(
        [sys.executable, "-m", "hkarchive", *(READERS | WRITERS)[command], "--db", str(db)],
        cwd=REPO_ROOT, env=_child_env(), capture_output=True, text=True, timeout=300,
        check=False, **how,
    )  # fmt: skip
    assert_refused(Run(done.returncode, done.stderr), 2 if command in WRITERS else 1, named)
    assert snapshot(open_tmp) == before, "nothing may be written"


@pytest.mark.parametrize("command", READERS)
def test_reading_a_missing_archive_creates_nothing(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if command == "serve":
        pytest.importorskip("datasette")
    db = tmp_path / "new" / "archive.db"
    result = run(capsys, *READERS[command], "--db", str(db))
    assert_refused(result, 1, "no archive at", str(db))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READERS)
def test_a_missing_default_archive_is_named_in_full_with_how_to_name_another(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run outside a checkout, the default data/archive.db is relative to somewhere else."""
    if command == "serve":
        pytest.importorskip("datasette")
    monkeypatch.delenv("HKARCHIVE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    result = run(capsys, *READERS[command])
    where = tmp_path / "data" / "archive.db"
    assert_refused(result, 1, f"no archive at {where} ", "use --db PATH or set HKARCHIVE_DB")
    assert list(tmp_path.iterdir()) == []


def test_crawl_with_the_mirror_down_creates_no_archive_folder_or_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new" / "archive.db"
    result = run(capsys, "crawl", "govhk", "--mirror", REFUSED, "--db", str(db))
    assert_refused(result, 1, "cannot connect to the mirror", REFUSED)
    assert list(tmp_path.iterdir()) == []


# --- The same, as a shell sees it -----------------------------------------------------------

SHELL_CASES = {
    "bad day": (["crawl", "govhk", "--since", "2024-13-01", "--mirror", REFUSED], 2),
    "bad mirror port": (["crawl", "govhk", "--mirror", "http://127.0.0.1:99999"], 2),
    "mirror down": (["crawl", "govhk", "--mirror", REFUSED], 1),
    "export until year 9999": (["export", "--format", "csv", "--until", "9999-12-31"], 2),
}


@pytest.mark.parametrize(("args", "code"), SHELL_CASES.values(), ids=SHELL_CASES.keys())
def test_a_shell_sees_one_line_and_the_status(args: list[str], code: int, workdir: Path) -> None:
    before = snapshot(workdir)
    result = run_cli(*args, "--db", str(workdir / "archive.db"), cwd=workdir)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("hkarchive: error: ")
    assert result.code == code
    assert snapshot(workdir) == before


def test_a_corrupt_archive_through_the_shell(tmp_path: Path, archive_bytes: bytes) -> None:
    db = tmp_path / "archive.db"
    _truncated(db, archive_bytes)
    before = db.read_bytes()
    result = run_cli("search", "launch", "--db", str(db), cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.splitlines() == [
        f"hkarchive: error: the archive {db} is damaged (database disk image is malformed): "
        f"nothing more is written to it; check it with: sqlite3 {db} 'PRAGMA integrity_check'"
    ]
    assert db.read_bytes() == before


@pytest.mark.parametrize(("command", "code"), [("crawl", 2), ("demo", 2), ("reparse", 1)])
def test_an_archive_this_user_cannot_write_is_refused_before_anything_is_written(
    command: str,
    code: int,
    tmp_path: Path,
    archive_bytes: bytes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a read-only archive is to a user other than root, whom file modes do not stop."""
    db = tmp_path / "archive.db"
    db.write_bytes(archive_bytes)
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode, **kw: (
            Path(path) != db if mode & os.W_OK else real_access(path, mode, **kw)
        ),
    )
    before = snapshot(tmp_path)
    result = run(capsys, *(READERS | WRITERS)[command], "--db", str(db))
    assert_refused(result, code, f"cannot write the archive {db}")
    assert snapshot(tmp_path) == before
