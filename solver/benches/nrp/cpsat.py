#!/usr/bin/env python3
"""CP-SAT peer for the NRP benchmark (issue 6): a model of the Curtois & Qu format written for
this benchmark only, not part of kefu. Prints the same JSON contract as `kefu roster nrp --json`.

Usage: cpsat.py InstanceN.txt --time-limit S --workers N
"""

import argparse
import json
import time

from ortools.sat.python import cp_model


def read(path):
    sections = {}
    current = None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("SECTION_"):
                current = line
                sections[current] = []
                continue
            sections[current].append([x.strip() for x in line.split(",")])
    n_days = int(sections["SECTION_HORIZON"][0][0])
    shifts = [row[0] for row in sections["SECTION_SHIFTS"]]
    sidx = {s: i for i, s in enumerate(shifts)}
    length = [int(row[1]) for row in sections["SECTION_SHIFTS"]]
    forbid = [[sidx[x] for x in row[2].split("|") if x] for row in sections["SECTION_SHIFTS"]]
    staff = []
    for row in sections["SECTION_STAFF"]:
        max_shifts = [n_days] * len(shifts)
        for item in row[1].split("|"):
            if item:
                k, v = item.split("=")
                max_shifts[sidx[k]] = int(v)
        staff.append(dict(id=row[0], max_shifts=max_shifts, max_min=int(row[2]), min_min=int(row[3]),
                          max_cons=int(row[4]), min_cons=int(row[5]), min_off=int(row[6]), max_wk=int(row[7])))

    eidx = {e["id"]: i for i, e in enumerate(staff)}
    off = [set() for _ in staff]
    for row in sections.get("SECTION_DAYS_OFF", []):
        for d in row[1:]:
            if d:
                off[eidx[row[0]]].add(int(d))
    on_req = [(eidx[r[0]], int(r[1]), sidx[r[2]], int(r[3])) for r in sections.get("SECTION_SHIFT_ON_REQUESTS", [])]
    off_req = [(eidx[r[0]], int(r[1]), sidx[r[2]], int(r[3])) for r in sections.get("SECTION_SHIFT_OFF_REQUESTS", [])]
    cover = {(int(r[0]), sidx[r[1]]): (int(r[2]), int(r[3]), int(r[4])) for r in sections["SECTION_COVER"]}
    return n_days, shifts, length, forbid, staff, off, on_req, off_req, cover


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("instance")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.time()
    n_days, shifts, length, forbid, staff, off, on_req, off_req, cover = read(args.instance)
    m = cp_model.CpModel()
    n_s = len(shifts)
    x = {}
    for e, st in enumerate(staff):
        for d in range(n_days):
            for s in range(n_s):
                if d in off[e] or st["max_shifts"][s] == 0:
                    continue
                x[e, d, s] = m.new_bool_var(f"x{e}_{d}_{s}")
    zero = m.new_constant(0)

    def xv(e, d, s):
        return x.get((e, d, s), zero)

    work = {}
    for e, st in enumerate(staff):
        for d in range(n_days):
            w = m.new_bool_var(f"w{e}_{d}")
            m.add(sum(xv(e, d, s) for s in range(n_s)) == w)
            work[e, d] = w
        for d in range(n_days - 1):
            for s in range(n_s):
                for t in forbid[s]:
                    if (e, d, s) in x and (e, d + 1, t) in x:
                        m.add_bool_or([x[e, d, s].Not(), x[e, d + 1, t].Not()])
        for s in range(n_s):
            m.add(sum(xv(e, d, s) for d in range(n_days)) <= st["max_shifts"][s])
        minutes = sum(length[s] * xv(e, d, s) for d in range(n_days) for s in range(n_s))
        m.add(minutes <= st["max_min"])
        m.add(minutes >= st["min_min"])
        c = st["max_cons"]
        for d in range(n_days - c):
            m.add(sum(work[e, d + i] for i in range(c + 1)) <= c)
        # Short runs wholly inside the horizon are forbidden.
        for k in range(1, st["min_cons"]):
            for d in range(1, n_days - k):
                m.add_bool_or([work[e, d - 1]] + [work[e, d + i].Not() for i in range(k)] + [work[e, d + k]])
        for k in range(1, st["min_off"]):
            for d in range(1, n_days - k):
                m.add_bool_or([work[e, d - 1].Not()] + [work[e, d + i] for i in range(k)] + [work[e, d + k].Not()])
        wks = []
        for wk in range(n_days // 7):
            y = m.new_bool_var(f"y{e}_{wk}")
            m.add_max_equality(y, [work[e, 7 * wk + 5], work[e, 7 * wk + 6]])
            wks.append(y)
        m.add(sum(wks) <= st["max_wk"])
    obj = []
    for (e, d, s, wgt) in on_req:
        if (e, d, s) in x:
            obj.append(wgt * (1 - x[e, d, s]))
        else:
            obj.append(wgt)
    for (e, d, s, wgt) in off_req:
        if (e, d, s) in x:
            obj.append(wgt * x[e, d, s])
    for (d, s), (req, wu, wo) in cover.items():
        n = sum(xv(e, d, s) for e in range(len(staff)))
        under = m.new_int_var(0, req, f"u{d}_{s}")
        over = m.new_int_var(0, len(staff), f"o{d}_{s}")
        m.add(n + under - over == req)
        obj.append(wu * under + wo * over)
    m.minimize(sum(obj))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, args.time_limit - (time.time() - started))
    solver.parameters.num_workers = args.workers
    status = solver.solve(m)
    out = {"instance": args.instance.rsplit("/", 1)[-1].removesuffix(".txt"), "status": solver.status_name(status)}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        obj_value = round(solver.objective_value)
        bound = solver.best_objective_bound
        out.update(objective=obj_value, bound=bound, gap=(obj_value - bound) / obj_value if obj_value else 0.0)
        sched = {}
        for e, st in enumerate(staff):
            row = []
            for d in range(n_days):
                cell = "-"
                for s in range(n_s):
                    if (e, d, s) in x and solver.value(x[e, d, s]):
                        cell = shifts[s]
                row.append(cell)
            sched[st["id"]] = row
        out["schedule"] = sched
    else:
        out.update(objective=None, bound=None, gap=None, schedule={})
    out["solve_seconds"] = round(time.time() - started, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
