"""Redash-client compatibility: drives a real all-in-one `dashi` with redash-toolbelt, a third-party
Redash client from PyPI (pinned in tests/python-requirements.txt), exactly as its users call it.

    python tests/compat/redash_toolbelt_compat.py --dashi target/debug/dashi

Starts `dashi` on a temporary data folder and a free loopback port, sets up the organization
through the `/setup` page, then, with the admin's API key in the toolbelt client: checks the
credentials, creates a SQLite data source, creates, updates, duplicates and paginates queries,
and runs a query to a result with the toolbelt's own `get_fresh_query_result`. Prints
"N passed, N failed" and exits non-zero on any failure.
"""

import argparse
import json
import os
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import requests
from redash_toolbelt import Redash
from redash_toolbelt.examples.refresh_query import get_fresh_query_result

# How long dashi may take to start or a run to finish before the check fails.
DEADLINE_SECONDS = 60


class Dashi:
    """A `dashi` process on its own data folder; its JSON log lines are read as they come."""

    def __init__(self, binary, data_dir):
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DASHI_DATA_DIR": data_dir,
            "DASHI_BIND": "127.0.0.1:0",
            "DASHI_LOG_FORMAT": "json",
            "DASHI_LOG_LEVEL": "info",
        }
        self.process = subprocess.Popen(
            [binary], env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def address(self):
        """The address of the `server listening` log event."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError(f"dashi exited with {self.process.wait()} before listening")
            try:
                fields = json.loads(line).get("fields", {})
            except ValueError:
                continue
            if fields.get("message") == "server listening":
                return fields["addr"]
        raise RuntimeError("dashi did not log `server listening` in time")

    def stop(self):
        self.process.terminate()
        try:
            return self.process.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def admin_api_key(url):
    """Sets up the organization as a first-time user does and returns the admin's API key."""
    session = requests.Session()
    form = {"name": "Ada Admin", "email": "ada@example.com", "password": "correct-horse-9", "org_name": "Acme"}
    reply = session.post(f"{url}/setup", data=form, allow_redirects=False)
    assert reply.status_code in (302, 303), f"setup answered {reply.status_code}: {reply.text[:200]}"
    if "session" not in session.cookies:
        login = {"email": form["email"], "password": form["password"]}
        reply = session.post(f"{url}/login", data=login, allow_redirects=False)
        assert reply.status_code in (302, 303), f"login answered {reply.status_code}"
    me = session.get(f"{url}/api/session").json()["user"]
    return session.get(f"{url}/api/users/{me['id']}").json()["api_key"]


def make_database(folder):
    """A SQLite file for the data source: three products."""
    path = os.path.join(folder, "shop.db")
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE products (id INTEGER, name TEXT, price REAL);"
            "INSERT INTO products VALUES (1, 'tea', 2.5), (2, 'coffee', 3.0), (3, 'cocoa', 2.0);"
        )
    return path


def run_checks(url, api_key, database):
    client = Redash(url, api_key)
    checks = []

    def check(name):
        def register(function):
            checks.append((name, function))
            return function
        return register

    state = {}

    @check("test_credentials accepts the key and refuses another")
    def _():
        assert client.test_credentials() is True
        assert Redash(url, "not-a-key").test_credentials() is False

    @check("create_data_source, get_data_sources, get_data_source")
    def _():
        created = client.create_data_source("Shop", "sqlite", {"dbpath": database}).json()
        state["source"] = created["id"]
        assert created["name"] == "Shop" and created["type"] == "sqlite", created
        listed = client.get_data_sources()
        assert [source["name"] for source in listed] == ["Shop"], listed
        assert client.get_data_source(created["id"])["options"]["dbpath"] == database

    @check("create_query, get_query, update_query")
    def _():
        body = {"name": "Cheap products", "data_source_id": state["source"],
                "query": "SELECT id, name FROM products WHERE price <= {{ limit }} ORDER BY id",
                "options": {"parameters": [{"name": "limit", "title": "Limit", "type": "number", "value": 2.5}]}}
        created = client.create_query(body).json()
        state["query"] = created["id"]
        assert created["is_draft"] is True and created["version"] == 1, created
        assert [viz["type"] for viz in created["visualizations"]] == ["TABLE"]
        updated = client.update_query(created["id"], {"name": "Cheap drinks", "is_draft": False, "tags": ["shop"]}).json()
        assert updated["name"] == "Cheap drinks" and updated["tags"] == ["shop"] and updated["version"] == 2, updated
        assert client.get_query(created["id"])["name"] == "Cheap drinks"

    @check("duplicate_query forks with a new name")
    def _():
        copy = client.duplicate_query(state["query"], new_name="Cheap drinks (copy)")
        assert copy["id"] != state["query"] and copy["name"] == "Cheap drinks (copy)", copy
        assert copy["query"] == client.get_query(state["query"])["query"]

    @check("paginate(queries) walks every page")
    def _():
        for number in range(5):
            client.create_query({"name": f"Filler {number}", "data_source_id": state["source"], "query": f"SELECT {number}"})
        names = [query["name"] for query in client.paginate(client.queries, page_size=2)]
        assert len(names) == 7 and len(set(names)) == 7, names
        first = client.queries(page=1, page_size=2)
        assert first["count"] == 7 and first["page"] == 1 and len(first["results"]) == 2, first

    @check("get_fresh_query_result runs a query to its rows")
    def _():
        rows = run_with_deadline(lambda: get_fresh_query_result(url, state["query"], api_key, {"limit": 2.5}))
        assert rows == [{"id": 1, "name": "tea"}, {"id": 3, "name": "cocoa"}], rows
        rows = run_with_deadline(lambda: get_fresh_query_result(url, state["query"], api_key, {"limit": 3}))
        assert [row["name"] for row in rows] == ["tea", "coffee", "cocoa"], rows

    passed = failed = 0
    for name, function in checks:
        try:
            function()
            passed += 1
            print(f"PASS {name}")
        except Exception:  # noqa: BLE001 - every failure is reported, then the next check runs
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    return passed, failed


def run_with_deadline(function):
    """Runs `function` (which polls without a limit of its own) and fails past the deadline."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(DEADLINE_SECONDS)
    if thread.is_alive():
        raise TimeoutError(f"the run did not finish within {DEADLINE_SECONDS} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashi", required=True, help="the dashi binary to test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashi-compat-") as folder:
        data_dir = os.path.join(folder, "data")
        database = make_database(folder)
        dashi = Dashi(os.path.abspath(args.dashi), data_dir)
        try:
            url = f"http://{dashi.address()}"
            passed, failed = run_checks(url, admin_api_key(url), database)
        finally:
            status = dashi.stop()
    if status != 0:
        print(f"dashi exited with {status} after SIGTERM")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
