#!/usr/bin/env bash
# NRP benchmark (issue 6): all 24 Curtois & Qu instances, kefu (good_lp + HiGHS, MILP + LNS) and
# the peer, OR-Tools CP-SAT (cpsat.py beside this file), same time limit, 2 threads each, run one
# after the other. Every schedule, ours and the peer's, is judged by `kefu roster nrp-eval`; the
# table's objectives are the evaluator's.
#
# Usage (from the repository root): solver/benches/nrp/run.sh [SECONDS] [FIRST] [LAST]
#   SECONDS per instance and solver (default 60), instances FIRST..LAST (default 1..24).
# Needs: cargo build --release -p kefu-server (with CARGO_TARGET_DIR if set); python3 with venv.
# Outputs: target/nrp-bench/<solver>/InstanceN.{json,eval.json} and the table on stdout.
set -euo pipefail

limit=${1:-60}
first=${2:-1}
last=${3:-24}
root=$(cd "$(dirname "$0")/../../.." && pwd)
data="$root/../shared/benchmarks/nrp-curtois"
kefu="${KEFU_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/kefu}"
venv="$root/target/nrp-venv"
out="$root/target/nrp-bench"
[ -x "$kefu" ] || { echo "no kefu binary at $kefu: run cargo build --release -p kefu-server" >&2; exit 2; }
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ortools" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q ortools
fi
mkdir -p "$out/kefu" "$out/cpsat"
# A run that overruns its limit by this much is stopped and counted as no schedule.
hard=$(python3 -c "print(int($limit + 40))")

for i in $(seq "$first" "$last"); do
    inst="$data/Instance$i.txt"
    for solver in kefu cpsat; do
        json="$out/$solver/Instance$i.json"
        start=$(date +%s.%N)
        if [ "$solver" = kefu ]; then
            timeout "$hard" "$kefu" roster nrp "$inst" --time-limit "$limit" --threads 2 --json >"$json" 2>"$json.err" || true
        else
            timeout "$hard" "$venv/bin/python" "$root/solver/benches/nrp/cpsat.py" "$inst" \
                --time-limit "$limit" --workers 2 >"$json" 2>"$json.err" || true
        fi
        end=$(date +%s.%N)
        python3 -c "print(round($end - $start, 1))" >"$json.wall"
        "$kefu" roster nrp-eval "$inst" "$json" --json >"$out/$solver/Instance$i.eval.json" 2>"$out/$solver/Instance$i.eval.err" || true
    done
    echo "Instance$i done" >&2
done

python3 - "$out" "$data/best-known.csv" "$first" "$last" "$limit" <<'EOF'
import csv, json, sys
out, best_csv, first, last, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
best = {r["instance"]: int(r["best_known_upper_bound"]) for r in csv.DictReader(open(best_csv))}

def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None

print(f"time limit {limit} s per instance and solver, 2 threads; objectives from kefu roster nrp-eval")
print("| Inst. | best known | kefu obj | kefu bound | kefu gap to BK | kefu s | CP-SAT obj | CP-SAT bound | CP-SAT gap to BK | CP-SAT s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for i in range(first, last + 1):
    name = f"Instance{i}"
    bk = best[name]
    cells = [str(i), str(bk)]
    for solver in ("kefu", "cpsat"):
        run = load(f"{out}/{solver}/{name}.json") or {}
        judged = load(f"{out}/{solver}/{name}.eval.json")
        wall = open(f"{out}/{solver}/{name}.json.wall").read().strip()
        if judged is None or not run.get("schedule"):
            cells += ["none", "-", "-", wall]
            continue
        obj = judged["objective"]
        if run.get("objective") is not None and run["objective"] != obj:
            obj_text = f"{obj} (claimed {run['objective']})"
        else:
            obj_text = str(obj)
        if not judged["feasible"]:
            obj_text += " INFEASIBLE"
        bound = run.get("bound")
        bound_text = "-" if bound is None else f"{bound:.0f}"
        cells += [obj_text, bound_text, f"{100 * (obj - bk) / bk:.1f} %", wall]
    print("| " + " | ".join(cells) + " |")
EOF
