#!/usr/bin/env bash
# Times `lakeray demo mnist` as README describes it, RUNS times (default 3):
#   cold  — the first demo after `lakeray up --examples` on a fresh state dir (the start-up
#           ingestion has finished; the demo trains one epoch, registers and serves the model)
#   again — a second `lakeray demo mnist` right after (dataset, model and service are there)
#   force — `lakeray demo mnist --force` after that (ingests and trains again, pools warm)
# Prints one line per run and the medians. Needs the setup done (npm run setup).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-3}"
LAKERAY="$ROOT/bin/lakeray.js"
secs() { local t0=$1; printf "%.1f" "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
cold=() again=() force=()
for i in $(seq "$RUNS"); do
  dir="$(mktemp -d -t lakeray-time-demo-XXXX)"
  cd "$dir"
  node "$LAKERAY" up --examples --port 0 --log-format json >up.out 2>up.err &
  server=$!
  until url=$(grep -om1 'http://[0-9.]*:[0-9]*' up.out 2>/dev/null); do sleep 0.2; done
  until grep -qE '(✓|✗) dataset mnist_clean' up.out up.err 2>/dev/null; do sleep 0.2; done
  t0=$(date +%s%N); node "$LAKERAY" --url "$url" demo mnist >demo1.out 2>&1; c=$(secs "$t0")
  t0=$(date +%s%N); node "$LAKERAY" --url "$url" demo mnist >demo2.out 2>&1; a=$(secs "$t0")
  t0=$(date +%s%N); node "$LAKERAY" --url "$url" demo mnist --force >demo3.out 2>&1; f=$(secs "$t0")
  cold+=("$c") again+=("$a") force+=("$f")
  echo "run $i: cold ${c} s, again ${a} s, --force ${f} s  (load $(cut -d' ' -f1-3 /proc/loadavg); $dir)"
  kill -TERM "$server"; wait "$server" || true
  cd "$ROOT"
done
echo "median of $RUNS: cold $(printf '%s\n' "${cold[@]}" | median) s, again $(printf '%s\n' "${again[@]}" | median) s, --force $(printf '%s\n' "${force[@]}" | median) s on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), node $(node -v)"
