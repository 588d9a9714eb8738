#!/usr/bin/env bash
# Benchmarks for repro capture (issue 3):
#   1. capture overhead: wall time of `repro capture -- /usr/bin/python3 <example>`
#      divided by the plain run's, median of N runs each, interleaved;
#   2. hashing throughput on a 1 GiB file against sha256sum, cold (page cache
#      dropped, when permitted) and warm (repro's stat cache hit).
# Usage: bench/capture.sh [N]   (default 5). Prints the figures and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME=$work/cache

go build -o "$work/repro" ./cmd/repro
REPRO=$work/repro

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

overhead() { # name, dir, args...
  local name=$1 src=$2; shift 2
  local d=$work/$name
  rm -rf "$d"; cp -r "$src" "$d"; rm -rf "$d/out"
  (cd "$d" && if [ -f generate_data.py ]; then $PY generate_data.py >/dev/null; fi)
  (cd "$d" && $PY "$@" >/dev/null 2>&1) # warm the page cache and bytecode
  local plain=() cap=()
  for i in $(seq "$N"); do
    t0=$(now); (cd "$d" && $PY "$@" >/dev/null 2>&1); t1=$(now)
    plain+=("$(echo "$t1 - $t0" | bc -l)")
    t0=$(now); (cd "$d" && "$REPRO" capture -o "$work/$name.toml" -- $PY "$@" >/dev/null 2>&1); t1=$(now)
    cap+=("$(echo "$t1 - $t0" | bc -l)")
  done
  local mp mc
  mp=$(printf '%s\n' "${plain[@]}" | median)
  mc=$(printf '%s\n' "${cap[@]}" | median)
  printf '%-20s plain %6.3f s  capture %6.3f s  ratio %.3f   (median of %d; plain: %s; capture: %s)\n' \
    "$name" "$mp" "$mc" "$(echo "$mc / $mp" | bc -l)" "$N" "${plain[*]}" "${cap[*]}"
}

echo "--- capture overhead ($(nproc) CPUs)"
overhead numpy-linalg examples/numpy-linalg linalg.py
overhead sklearn-classifier examples/sklearn-classifier train.py
overhead threads examples/threads threads.py

echo "--- hashing a 1 GiB file"
big=$work/big.bin
head -c $((1 << 30)) /dev/urandom >"$big"
drop() { sync; if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then echo dropped; else echo "not permitted"; fi; }
timeit() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo "$t1 - $t0" | bc -l; }
d=$(drop); s_cold=$(timeit sha256sum "$big")
d2=$(drop); rm -rf "$XDG_CACHE_HOME"; r_cold=$(timeit "$REPRO" capture -o "$work/h.toml" --data "$big" -- true)
s_warm=$(timeit sha256sum "$big")
r_warm=$(timeit "$REPRO" capture -o "$work/h.toml" --data "$big" -- true)
rm -rf "$XDG_CACHE_HOME"; r_nocache=$(timeit "$REPRO" capture -o "$work/h.toml" --data "$big" -- true)
printf 'page cache drop: %s\n' "$d"
printf 'cold  sha256sum %6.3f s   repro capture --data (no stat cache) %6.3f s   ratio %.3f\n' "$s_cold" "$r_cold" "$(echo "$r_cold / $s_cold" | bc -l)"
printf 'warm  sha256sum %6.3f s   repro capture --data (no stat cache) %6.3f s   ratio %.3f\n' "$s_warm" "$r_nocache" "$(echo "$r_nocache / $s_warm" | bc -l)"
printf 'warm  sha256sum %6.3f s   repro capture --data (stat cache hit) %6.3f s   ratio %.3f\n' "$s_warm" "$r_warm" "$(echo "$r_warm / $s_warm" | bc -l)"
printf 'throughput: sha256sum warm %.0f MiB/s, repro uncached warm %.0f MiB/s\n' "$(echo "1024 / $s_warm" | bc -l)" "$(echo "1024 / $r_nocache" | bc -l)"
