"""Python smoke test of the kefu-mobile library through its generated bindings:
open a store, create and read a case, a typed error with its message, offline
sync failing fast, a sync through a real `kefu serve` to a second store, a
roster published in the console read on the phone offline, then republished, and
leave, swap and check-in made offline, decided and judged through /v1.

Run by run.sh beside this file, which generates the bindings and sets
KEFU_PY_BINDINGS (the directory holding kefu_mobile.py and the library) and
KEFU_BIN (the kefu binary). Prints "N passed, M failed" last; exits 1 on failure.
"""

import asyncio
import datetime
import http.client
import json
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
        self.start("127.0.0.1:0")

    def start(self, listen):
        """Starts `kefu serve` on `listen` and waits for its address."""
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--listen", listen, "--db", self.db],
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

    def token(self, label, staff=None, role="staff"):
        extra = ["--staff", staff] if staff else []
        return self.admin("device", "issue", "--team", "north-desk", "--role", role, "--label", label, *extra)

    def restart(self):
        """Starts the stopped server again on the same address."""
        self.start(urllib.parse.urlsplit(self.url).netloc)

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

def api(server, token, method, path, body=None):
    """A /v1 call with a device token; returns the status and the body."""
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(server.url).netloc, timeout=60)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    answer = (response.status, response.read().decode())
    conn.close()
    return answer


@test
def requests_made_offline_are_decided_and_a_late_check_in_is_an_absence(tmp):
    server = Server(tmp)
    try:
        console = Console(server)
        with open(SMALL_TEAM, encoding="utf-8") as team:
            console.act("/console/roster/team", "/console/roster/team/import", {"toml": team.read()})
        console.act("/console/roster", "/console/roster/publish", {"version": console.generate()})
        supervisor = server.token("supervisor's phone", role="supervisor")
        phones = {}
        for staff in ("lin", "wu", "zhou"):
            token = server.token(f"{staff}'s phone", staff=staff)
            store = kefu.KefuStore.open(os.path.join(tmp, staff), staff)
            store.bind_device(token)
            store.sync_blocking(server.url, token)
            phones[staff] = (store, token)
        server.stop()

        # Offline: leave within the allowance, a fifth day refused, a swap asked.
        lin = phones["lin"][0]
        assert lin.leave_allowance("2026-03").remaining == 4
        leave = lin.request_leave(kefu.RequestKind.LEAVE, ["2026-03-09", "2026-03-10"], "探亲")
        lin.request_leave(kefu.RequestKind.LIEU, ["2026-03-16", "2026-03-17"], "")
        try:
            lin.request_leave(kefu.RequestKind.LEAVE, ["2026-03-20"], "")
            raise AssertionError("a fifth day is refused")
        except kefu.KefuError.EditRefused as refused:
            assert "2026-03" in str(refused) and "2026-03-09, 2026-03-10, 2026-03-16, 2026-03-17" in str(refused), refused
        days = {staff: [s.date for s in store.my_shifts("2026-03-02")] for staff, (store, _) in phones.items()}
        giver, day, taker = next(
            (staff, d, other) for staff in days for d in days[staff] for other in days
            if other != staff and d not in days[other] and not (other == "zhou" and d == "2026-03-04")
        )
        swap = phones[giver][0].request_swap(day, "D", taker, "看病")
        assert swap.status == "awaiting_colleague", swap

        server.restart()
        for staff in ("lin", giver, taker):
            phones[staff][0].sync_blocking(server.url, phones[staff][1])
        asked = phones[taker][0].requests()
        assert [r.id for r in asked] == [swap.id] and not asked[0].mine, asked
        phones[taker][0].answer_swap(swap.id, True)
        phones[taker][0].sync_blocking(server.url, phones[taker][1])
        for request in (leave.id, swap.id):
            status, body = api(server, supervisor, "POST", f"/v1/requests/{request}/decision", {"approve": True, "note": "同意"})
            assert status == 200, (status, body)
        for staff in ("lin", giver, taker):
            phones[staff][0].sync_blocking(server.url, phones[staff][1])
        decided = [r for r in lin.requests() if r.id == leave.id][0]
        assert (decided.status, decided.decision_note) == ("approved", "同意"), decided
        for staff in (giver, taker):
            on_duty = [s.staff for s in phones[staff][0].on_duty_at(instant(day + "T10:00+08:00"))]
            assert on_duty == [taker], (staff, on_duty)

        # A check-in 40 minutes late, made offline, is an absence once synced.
        server.stop()
        store, token = phones[taker]
        store.check_in(kefu.CheckKind.IN, instant(day + "T09:40+08:00"))
        server.restart()
        store.sync_blocking(server.url, token)
        status, body = api(server, supervisor, "GET", "/v1/attendance?month=2026-03")
        assert status == 200, (status, body)
        person = [p for p in json.loads(body)["staff"] if p["staff"] == taker][0]
        shift = [s for s in person["shifts"] if s["key"] == f"{day}/{taker}/D"][0]
        assert (shift["status"], shift["late_minutes"]) == ("absent", 40), shift
    finally:
        server.stop()


passed = sum(RESULTS)
print(f"{passed} passed, {len(RESULTS) - passed} failed")
sys.exit(0 if passed == len(RESULTS) else 1)
