"""Python smoke test of the kefu-mobile library through its generated bindings:
open a store, create and read a case, a typed error with its message, offline
sync failing fast, a sync through a real `kefu serve` to a second store, and a
roster published in the console read on the phone offline, then republished.

Run by run.sh beside this file, which generates the bindings and sets
KEFU_PY_BINDINGS (the directory holding kefu_mobile.py and the library) and
KEFU_BIN (the kefu binary). Prints "N passed, M failed" last; exits 1 on failure.
"""

import asyncio
import datetime
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.environ["KEFU_PY_BINDINGS"])
import kefu_mobile as kefu  # noqa: E402  (generated at run time)

RESULTS = []


def test(fn):
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="kefu-py-") as tmp:
            fn(tmp)
        error = None
    except Exception:  # a failed assert or an unexpected exception
        error = traceback.format_exc(limit=4)
    ms = int((time.monotonic() - started) * 1000)
    print(f"{'PASS' if error is None else 'FAIL'} {fn.__name__} ({ms} ms)" + ("" if error is None else f"\n{error}"))
    RESULTS.append(error is None)
    return fn


def new_repair(subject="地下室进水 B2"):
    return kefu.NewCase(
        kind=kefu.CaseKind.REPAIR,
        channel=kefu.Channel.PHONE,
        customer=kefu.Customer(name="王芳", phone="138 0000 0000", address="3-2-1101"),
        subject=subject,
        description="Water in the basement",
        priority=kefu.Priority.URGENT,
        service=kefu.Service.REPAIR,
    )


class Server:
    """A real `kefu serve` on 127.0.0.1:0 with a fresh database and a team."""

    def __init__(self, tmp):
        self.bin = os.environ.get("KEFU_BIN", "")
        if not os.access(self.bin, os.X_OK):
            raise AssertionError(f"no kefu binary at KEFU_BIN={self.bin!r}; build it with: cargo build -p kefu-server")
        self.db = os.path.join(tmp, "server", "kefu.sqlite3")
        self.admin("team", "create", "north-desk")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--listen", "127.0.0.1:0", "--db", self.db],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"},
        )
        self.log = []
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line)
                match = re.search(r"listening on (\S+)", line)
                if match and not found.is_set():
                    self.url = "http://" + match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30):
            self.proc.kill()
            raise AssertionError("kefu serve did not listen within 30 s:\n" + "".join(self.log))

    def admin(self, *args, stdin=""):
        done = subprocess.run(
            [self.bin, "admin", "--db", self.db, *args], input=stdin, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def token(self, label):
        return self.admin("device", "issue", "--team", "north-desk", "--role", "staff", "--label", label)

    def stop(self):
        self.proc.kill()
        self.proc.wait(30)


@test
def open_create_read_and_list(tmp):
    store = kefu.KefuStore.open(os.path.join(tmp, "a"), "desk.li")
    case = store.create_case(new_repair())
    assert store.get_case(case.id) == case
    assert case.status == kefu.Status.NEW
    store.add_note(case.id, "pump rented")
    assert [row.id for row in store.search("b2", 0)] == [case.id]
    assert store.pending_docs() == 1


@test
def typed_errors_carry_their_message(tmp):
    store = kefu.KefuStore.open(os.path.join(tmp, "a"), "desk.li")
    missing = "5f0c2a47-1111-4222-8333-944455556666"
    try:
        store.get_case(missing)
        raise AssertionError("no error")
    except kefu.KefuError.NotFound as err:
        assert str(err) == f"no such case: {missing}", str(err)
    case = store.create_case(new_repair())
    try:
        store.transition(case.id, kefu.Status.CLOSED, "done")
        raise AssertionError("no error")
    except kefu.KefuError.EditRefused as err:
        assert str(err) == "a repair case can be closed only after a return visit", str(err)


@test
def offline_sync_fails_fast(tmp):
    store = kefu.KefuStore.open(os.path.join(tmp, "a"), "field.zhou")
    store.create_case(new_repair())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    try:
        asyncio.run(store.sync(f"http://127.0.0.1:{port}", "any-token"))
        raise AssertionError("no error")
    except kefu.KefuError.Offline as err:
        assert str(err).startswith(f"cannot reach the server at http://127.0.0.1:{port}/v1/sync"), str(err)
    assert time.monotonic() - started < 5
    assert store.pending_docs() == 1


@test
def sync_through_kefu_serve(tmp):
    server = Server(tmp)
    try:
        token_a = server.token("phone a")
        a = kefu.KefuStore.open(os.path.join(tmp, "a"), "desk.li")
        # Bound to its token before the first edit: the server takes only the device's own changes.
        a.bind_device(token_a)
        b = kefu.KefuStore.open(os.path.join(tmp, "b"), "field.zhou")
        case = a.create_case(new_repair())
        report = asyncio.run(a.sync(server.url, token_a))
        assert report.acked_docs >= 1 and report.pending_docs == 0, report
        heard = []

        class Listener(kefu.ChangeListener):
            def on_changes(self, doc_ids):
                heard.append(doc_ids)

        b.set_change_listener(Listener())
        report = b.sync_blocking(server.url, server.token("phone b"))
        assert report.received_ids == [case.id], report
        assert heard == [[case.id]], heard
        assert b.get_case(case.id) == a.get_case(case.id)
        assert a.get_case(case.id).number.assigned is not None
    finally:
        server.stop()



SMALL_TEAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "small-team.toml")
ROSTER_ID = "roster:2026-03-02"


def instant(text):
    """Milliseconds since the epoch of an ISO time with its offset."""
    return int(datetime.datetime.fromisoformat(text).timestamp() * 1000)


class Console:
    """The supervisor console over HTTP, signed in as a new supervisor (redirects not followed)."""

    PASSWORD = "correct horse battery staple"

    def __init__(self, server):
        server.admin("user", "add", "wang.li", "--team", "north-desk", "--role", "supervisor", stdin=self.PASSWORD + "\n")
        self.address = urllib.parse.urlsplit(server.url).netloc
        status, headers, body = self.request("POST", "/console/sign-in", {"name": "wang.li", "password": self.PASSWORD})
        assert status == 303, (status, body)
        self.cookie = headers["set-cookie"].split(";")[0]

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection(self.address, timeout=30)
        headers = {"Cookie": getattr(self, "cookie", "")}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode())
        conn.close()
        return answer

    def act(self, page, path, form):
        csrf = self.request("GET", page)[2].split('name="csrf" value="')[1].split('"')[0]
        status, headers, body = self.request("POST", path, {"csrf": csrf, **form})
        assert status == 303, (path, status, body[:2000])
        return headers

    def generate(self):
        self.act("/console/roster", "/console/roster/generate", {"time_limit": "20"})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            page = self.request("GET", "/console/roster")[2]
            assert 'data-phase="failed"' not in page, page
            if 'id="roster-meta" data-version="' in page:
                return page.split('id="roster-meta" data-version="')[1].split('"')[0]
            time.sleep(0.2)
        raise AssertionError("no roster generated within 120 s")


@test
def a_published_roster_is_read_offline_and_a_republished_one_is_heard(tmp):
    server = Server(tmp)
    try:
        console = Console(server)
        with open(SMALL_TEAM, encoding="utf-8") as team:
            console.act("/console/roster/team", "/console/roster/team/import", {"toml": team.read()})
        first = console.generate()
        console.act("/console/roster", "/console/roster/publish", {"version": first})
        token = server.token("wu's phone")
        phone = kefu.KefuStore.open(os.path.join(tmp, "phone"), "wu")
        phone.bind_device(token)
        heard = []

        class Listener(kefu.ChangeListener):
            def on_changes(self, doc_ids):
                heard.append(doc_ids)

        phone.set_change_listener(Listener())
        phone.sync_blocking(server.url, token)
        assert [ROSTER_ID] in heard, heard
        wednesday = phone.on_duty_at(instant("2026-03-04T10:00+08:00"))
        assert len(wednesday) == 1 and (wednesday[0].post, wednesday[0].post_name) == ("desk", "前台"), wednesday
        assert wednesday[0].staff_name == {"lin": "林", "wu": "吴"}[wednesday[0].staff], wednesday
        worker = wednesday[0].staff
        other = "lin" if worker == "wu" else "wu"
        phone.mark_rosters_seen()

        location = console.act(
            "/console/roster", "/console/roster/move",
            {"version": first, "from": worker, "date": "2026-03-04", "to": other},
        )["location"]
        second = location.split("version=")[1]
        console.act("/console/roster", "/console/roster/publish", {"version": second})
        heard.clear()
        phone.sync_blocking(server.url, token)
        assert [ROSTER_ID] in heard, heard
        server.stop()

        # Offline: the phone reads the new roster and what changed since it last looked.
        try:
            phone.sync_blocking(server.url, token)
            raise AssertionError("the server is stopped")
        except kefu.KefuError.Offline:
            pass
        changes = {(c.kind, (c.before or c.after).staff, c.mine) for c in phone.roster_changes()}
        assert changes == {(kefu.ShiftChangeKind.REMOVED, worker, worker == "wu"),
                           (kefu.ShiftChangeKind.ADDED, other, other == "wu")}, changes
        phone.set_staff(other)
        shift = [s for s in phone.my_shifts("2026-03-04") if s.date == "2026-03-04"]
        assert len(shift) == 1, shift
        assert (shift[0].start, shift[0].end, shift[0].roster_id) == (
            "2026-03-04T09:00+08:00", "2026-03-04T17:00+08:00", ROSTER_ID), shift
    finally:
        server.stop()

passed = sum(RESULTS)
print(f"{passed} passed, {len(RESULTS) - passed} failed")
sys.exit(0 if passed == len(RESULTS) else 1)
