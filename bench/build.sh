#!/usr/bin/env bash
# Benchmark: "repro build" of the scikit-learn example's image (cold, then
# with cached layers) against "reprozip trace" + "reprozip pack" of the same
# run. Threads are pinned to 1 for both (ReproZip's tracer aborts on
# threaded runs). Needs Go, /usr/bin/python3 with sklearn, reprozip, Docker.
#
# Usage: bench/build.sh            (prints a table; exit 1 on any failure)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/repro-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

now() { date +%s.%N; }
# cpu FILE CMD...: run CMD, append its user+sys CPU seconds to FILE.
cpu() { local f=$1; shift; /usr/bin/time -f '%U %S' -a -o "$f" "$@"; }
cpusum() { awk '{ s = $1 + $2 } END { printf "%.2f", s }' "$1"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v n="$1" 'BEGIN { printf "%.1f MB", n / 1e6 }'; }
sum() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(l[sys.argv[2]] for l in d["layers"]))' "$1" "$2"; }

(cd "$repo" && go build -o "$work/repro" ./cmd/repro)
# A fresh layer and hash cache (after the Go build, which keeps its own cache).
export XDG_CACHE_HOME="$work/cache"
cp -r "$repo/examples/sklearn-classifier" "$work/exp"
cd "$work/exp"
/usr/bin/python3 generate_data.py >/dev/null
"$work/repro" capture -- /usr/bin/python3 train.py >/dev/null 2>&1

# repro build: cold (no layer cache, every file read and checked), then cached.
t0=$(now); cpu "$work/cold.cpu" "$work/repro" build --no-load --tar "$work/cold.tar" --json >"$work/cold.json"; t1=$(now)
cpu "$work/cached.cpu" "$work/repro" build --no-load --tar "$work/cached.tar" --json >"$work/cached.json"; t2=$(now)
cmp "$work/cold.tar" "$work/cached.tar"
# Loading into Docker, for reference (cached layers).
t3=$(now); "$work/repro" build --json >"$work/load.json"; t4=$(now)
docker rmi -f "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_id"])' "$work/load.json")" >/dev/null

# ReproZip: trace, then pack.
cd "$work/exp"
t5=$(now); reprozip trace --overwrite -d "$work/rz" /usr/bin/python3 train.py >/dev/null 2>&1; t6=$(now)
cpu "$work/pack.cpu" reprozip pack -d "$work/rz" "$work/exp.rpz" >/dev/null 2>&1; t7=$(now)

cold=$(secs "$t0" "$t1"); cached=$(secs "$t1" "$t2"); load=$(secs "$t3" "$t4")
trace=$(secs "$t5" "$t6"); pack=$(secs "$t6" "$t7")
size=$(sum "$work/cold.json" size); csize=$(sum "$work/cold.json" compressed_size)
tarsize=$(stat -c %s "$work/cold.tar"); rpz=$(stat -c %s "$work/exp.rpz")
files=$(sum "$work/cold.json" files)

printf '%-40s %10s\n' "repro build, cold (s)" "$cold"
printf '%-40s %10s\n' "repro build, cached layers (s)" "$cached"
printf '%-40s %10s\n' "repro build + docker load, cached (s)" "$load"
printf '%-40s %10s\n' "repro build, cold, CPU user+sys (s)" "$(cpusum "$work/cold.cpu")"
printf '%-40s %10s\n' "repro build, cached, CPU user+sys (s)" "$(cpusum "$work/cached.cpu")"
printf '%-40s %10s\n' "reprozip trace (s)" "$trace"
printf '%-40s %10s\n' "reprozip pack (s)" "$pack"
printf '%-40s %10s\n' "reprozip pack, CPU user+sys (s)" "$(cpusum "$work/pack.cpu")"
printf '%-40s %10s\n' "load average (1 min) at the end" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-40s %10s\n' "cold build / reprozip pack" "$(awk -v a="$cold" -v b="$pack" 'BEGIN { printf "%.3f", a / b }')"
printf '%-40s %10s\n' "cached build / reprozip pack" "$(awk -v a="$cached" -v b="$pack" 'BEGIN { printf "%.3f", a / b }')"
printf '%-40s %10s\n' "image files" "$files"
printf '%-40s %10s\n' "image size, uncompressed" "$(mb "$size")"
printf '%-40s %10s\n' "image size, compressed (layers)" "$(mb "$csize")"
printf '%-40s %10s\n' "image tar" "$(mb "$tarsize")"
printf '%-40s %10s\n' "reprozip .rpz" "$(mb "$rpz")"
