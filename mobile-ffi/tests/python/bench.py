"""The Python side of the FFI benchmark (see mobile-ffi/benches/ffi_calls.rs for
the Rust side and the method): create a case, list 100 cases and read one, through the
generated bindings. Run with `mobile-ffi/tests/python/run.sh --bench` (release library).
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.environ["KEFU_PY_BINDINGS"])
import kefu_mobile as kefu  # noqa: E402  (generated at run time)

WARM_UP = 50
ROUNDS = 300


def new_case(i):
    return kefu.NewCase(
        kind=kefu.CaseKind.REPAIR,
        channel=kefu.Channel.PHONE,
        customer=kefu.Customer(name="王芳", phone="138 0000 0000", address="3-2-1101"),
        subject=f"地下室进水 B2 #{i}",
        description="Water in the basement storage rooms since 06:00",
        priority=kefu.Priority.URGENT,
        service=kefu.Service.REPAIR,
    )


def measure(name, call):
    for i in range(WARM_UP):
        call(i)
    micros = []
    for i in range(ROUNDS):
        started = time.perf_counter_ns()
        call(WARM_UP + i)
        micros.append((time.perf_counter_ns() - started) / 1000)
    micros.sort()
    mean = sum(micros) / len(micros)
    print(f"{name:<14} {'python':<12} median {micros[ROUNDS // 2]:>9.1f} µs   mean {mean:>9.1f} µs   (n={ROUNDS})")


def list_100(store):
    assert len(store.list(kefu.CaseFilter())) == 100


with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
    creating = kefu.KefuStore.open(os.path.join(tmp, "create"), "desk.li")
    measure("create_case", lambda i: creating.create_case(new_case(i)))
    listing = kefu.KefuStore.open(os.path.join(tmp, "list"), "desk.li")
    for i in range(100):
        listing.create_case(new_case(i))
    measure("list_100", lambda i: list_100(listing))
    first = listing.list(kefu.CaseFilter())[0].id
    measure("get_case", lambda i: listing.get_case(first))
