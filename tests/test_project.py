"""The project as installed: packages from this checkout, the spider list, politeness settings."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from scrapy.settings import Settings

import crawler
import pipelines
from crawler.mirror import mirror_overrides
from tests.conftest import REPO_ROOT


def test_packages_import_from_this_checkout() -> None:
    assert Path(crawler.__file__).resolve().parent == REPO_ROOT / "crawler"
    assert Path(pipelines.__file__).resolve().parent == REPO_ROOT / "pipelines"


def test_scrapy_list_shows_the_govhk_spider(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "govhk" in done.stdout.split()


def project_settings() -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def test_live_crawls_are_polite_by_default() -> None:
    settings = project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert settings.getfloat("DOWNLOAD_DELAY") > 0
    assert "hkarchive/" in settings["USER_AGENT"]
    assert "+http" in settings["USER_AGENT"]
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")


def test_politeness_is_lifted_only_for_a_loopback_mirror() -> None:
    local = mirror_overrides("http://127.0.0.1:8000/")
    assert local["HKARCHIVE_MIRROR"] == "http://127.0.0.1:8000"
    assert local["ROBOTSTXT_OBEY"] is False
    remote = mirror_overrides("https://mirror.example.org/pages")
    assert "ROBOTSTXT_OBEY" not in remote
    assert "DOWNLOAD_HANDLERS" in remote


def test_ci_runs_exactly_the_readme_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    test_command = next(c for c in commands if "pytest" in c)
    setup = next(line for line in readme.splitlines() if line.startswith("{ command -v chromium"))
    ci_lines = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    run = [line for line in ci_lines if line and not line.startswith(("#", "set ", "cd "))]
    assert run == [setup, test_command]


# SQL as the command line could hold it: statements in strings, and calls that run them.
_SQL_STATEMENT = re.compile(
    r"(?i:\bselect\s[\w\s.,*(){}']*?\bfrom\b|\binsert\s+(?:or\s+\w+\s+)?into\b|\bdelete\s+from\b"
    r"|\bupdate\s+\S+\s+set\b|\bpragma\b|\bcreate\s+(?:virtual\s+)?(?:table|index)\b"
    r"|\bdrop\s+table\b)|^\s*(?:BEGIN|COMMIT|ROLLBACK)\b"
)
_SQL_CALLS = {"execute", "executemany", "executescript", "query", "table"}


def sql_in_module(path: Path) -> list[str]:
    """`line: what` for each SQL string (docstrings aside), each call that runs SQL
    (``.execute(``, ``.query(``, ``.table(``...) and each ``sqlite3.connect(`` in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {  # docstrings, and the parts of f-strings (read whole below)
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: its text with {} for each value
            skipped |= {id(part) for part in node.values}
            text = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
            if _SQL_STATEMENT.search(text):
                found.append((node.lineno, f"SQL text {text.strip()[:40]!r}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in skipped and _SQL_STATEMENT.search(node.value):
                found.append((node.lineno, f"SQL text {node.value.strip()[:40]!r}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, base = node.func.attr, node.func.value
            if name in _SQL_CALLS or (
                name == "connect" and isinstance(base, ast.Name) and base.id == "sqlite3"
            ):
                found.append((node.lineno, f"{ast.unparse(node.func)}(...)"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_no_module_of_the_cli_holds_sql() -> None:
    """The command line formats and prints; the archive's functions (newsarchive) read it."""
    cli = REPO_ROOT / "hkarchive" / "cli"
    found = [
        f"{path.relative_to(REPO_ROOT).as_posix()}:{line}"
        for path in sorted(cli.rglob("*.py"))
        for line in sql_in_module(path)
    ]
    assert found == [], "SQL in the CLI, for a function of newsarchive:\n" + "\n".join(found)


def test_the_sql_scan_sees_statements_and_calls(tmp_path: Path) -> None:
    module = tmp_path / "command.py"
    module.write_text(
        '"""Select rows from a table: a docstring, not SQL."""\n'
        'SAMPLE = "select a.title from articles a"\n'
        "def f(db):\n"
        '    """Selected from the archive."""\n'
        '    db.execute("BEGIN")\n'
        '    return f"SELECT id FROM {TABLE}", db.query(SAMPLE)\n',
        encoding="utf-8",
    )
    assert sql_in_module(module) == [
        "2: SQL text 'select a.title from articles a'",
        "5: SQL text 'BEGIN'",
        "5: db.execute(...)",
        "6: SQL text 'SELECT id FROM {}'",
        "6: db.query(...)",
    ]
    module.write_text('HELP = "Select by day; items from every source."\n', encoding="utf-8")
    assert sql_in_module(module) == []
