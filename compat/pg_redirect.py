"""pytest plugin: run the original service's test suite on PostgreSQL instead of SQLite.

Loaded with `-p pg_redirect` (this directory on PYTHONPATH) by scripts/compat. It replaces
`sqlalchemy.create_engine` before the test modules are imported: a `sqlite` URL becomes an engine on a
fresh PostgreSQL database, created for that call with `CREATE DATABASE ... TEMPLATE`; any other URL
is passed through. SQLite-only engine options (`check_same_thread`, `StaticPool`) are dropped.

Environment (all required):
  COMPAT_PG_HOST, COMPAT_PG_PORT  the server (socket directory or host, and port)
  COMPAT_PG_ADMIN                 superuser that creates the databases
  COMPAT_PG_TEMPLATE              database every new one is copied from
  COMPAT_PG_OWNER                 owner of the new databases
  COMPAT_PG_ROLE                  role the tests connect as
  COMPAT_PG_PREFIX                prefix of the new databases' names
  COMPAT_PG_RESULTS               JSON file written at the end: per test its outcome and error, and
                                  the databases each test created
"""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg
import pytest
import sqlalchemy
import sqlalchemy.engine
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import SingletonThreadPool, StaticPool

_ENV = {
    k: os.environ[k]
    for k in (
        "COMPAT_PG_HOST",
        "COMPAT_PG_PORT",
        "COMPAT_PG_ADMIN",
        "COMPAT_PG_TEMPLATE",
        "COMPAT_PG_OWNER",
        "COMPAT_PG_ROLE",
        "COMPAT_PG_PREFIX",
        "COMPAT_PG_RESULTS",
    )
}

_original_create_engine = sqlalchemy.create_engine
_current_test = "<collection>"
_engines: list[Any] = []
_databases: list[dict[str, str]] = []
_results: dict[str, dict[str, Any]] = {}
_db_errors: list[str] = []
_counter = 0


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _new_database() -> str:
    global _counter
    _counter += 1
    name = f"{_ENV['COMPAT_PG_PREFIX']}{_counter:03d}"
    with psycopg.connect(
        host=_ENV["COMPAT_PG_HOST"],
        port=_ENV["COMPAT_PG_PORT"],
        user=_ENV["COMPAT_PG_ADMIN"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            f"CREATE DATABASE {_ident(name)} TEMPLATE {_ident(_ENV['COMPAT_PG_TEMPLATE'])} "
            f"OWNER {_ident(_ENV['COMPAT_PG_OWNER'])}"
        )
    _databases.append({"database": name, "test": _current_test})
    return name


def create_engine(url: Any, *args: Any, **kwargs: Any) -> Any:
    if make_url(url).get_backend_name() != "sqlite":
        return _original_create_engine(url, *args, **kwargs)
    name = _new_database()
    connect_args = dict(kwargs.pop("connect_args", None) or {})
    connect_args.pop("check_same_thread", None)
    if connect_args:
        kwargs["connect_args"] = connect_args
    if kwargs.get("poolclass") in (StaticPool, SingletonThreadPool):
        del kwargs["poolclass"]
    pg_url = URL.create(
        "postgresql+psycopg",
        username=_ENV["COMPAT_PG_ROLE"],
        database=name,
        query={"host": _ENV["COMPAT_PG_HOST"], "port": _ENV["COMPAT_PG_PORT"]},
    )
    engine = _original_create_engine(pg_url, *args, **kwargs)
    _engines.append(engine)
    return engine


# Installed at import, before pytest imports the test modules (`from sqlalchemy import create_engine`).
sqlalchemy.create_engine = create_engine
sqlalchemy.engine.create_engine = create_engine


@event.listens_for(Engine, "handle_error")
def _record_db_error(ctx: Any) -> None:
    """Every error the database returns during a test, including those the service catches and
    logs (its pipeline carries on after a failed write), so that a failure can be traced to them."""
    e = ctx.original_exception
    if isinstance(e, psycopg.Error) and e.sqlstate:
        text = f"{e.sqlstate} {e.diag.message_primary or ''}".strip()
        if text not in _db_errors:
            _db_errors.append(text)


def _describe(exc: BaseException | None) -> str:
    """The database error behind a failure (SQLSTATE and message) when there is one, else the
    exception's type and first line."""
    seen = set()
    e = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        orig = getattr(e, "orig", None)
        for cand in (orig, e):
            if isinstance(cand, psycopg.Error) and cand.sqlstate:
                msg = cand.diag.message_primary or str(cand).splitlines()[0]
                return f"{cand.sqlstate} {msg}"
        e = e.__cause__ or e.__context__
    if exc is None:
        return ""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300]


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    global _current_test
    _current_test = nodeid
    _db_errors.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    entry = _results.setdefault(item.nodeid, {"outcome": "passed", "error": "", "db_errors": []})
    entry["db_errors"] = list(_db_errors)
    if report.failed and entry["outcome"] != "failed":
        entry["outcome"] = "failed"
        exc = call.excinfo.value if call.excinfo is not None else None
        entry["error"] = f"{call.when}: {_describe(exc)}"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: Any, nextitem: Any) -> Any:
    yield
    # Close the connections the test left in its engines' pools (SQLite's in-memory databases
    # vanish with the test; these servers' connections would pile up).
    while _engines:
        _engines.pop().dispose()


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _results[report.nodeid or "<collection>"] = {
            "outcome": "failed",
            "error": f"collection: {str(report.longrepr).strip().splitlines()[-1][:300]}",
        }


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    with open(_ENV["COMPAT_PG_RESULTS"], "w", encoding="utf-8") as f:
        json.dump(
            {"exitstatus": int(exitstatus), "tests": _results, "databases": _databases},
            f,
            indent=1,
            sort_keys=True,
        )
