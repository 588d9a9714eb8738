#!/usr/bin/env bash
# Benchmarks for repro capture (issue 3):
#   1. capture overhead: `repro capture -- /usr/bin/python3 <example>` against the
#      plain run, median of N runs each, interleaved. Reported twice: wall time,
#      and CPU time (user+sys of the whole process tree), which stays meaningful
#      on a machine shared with other work where wall times swing.
#   2. hashing a 1 GiB file: repro (parallel, through `repro capture --data`)
#      against sha256sum, cold (page cache dropped, when permitted) and warm,
#      and repro again with its stat cache hit.
# Usage: bench/capture.sh [N]   (default 5)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${1:-5}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME=$work/cache

go build -o "$work/repro" ./cmd/repro
REPRO=$work/repro

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# measure DIR CMD...: prints "wall cpu" for one run of CMD in DIR.
measure() {
  local dir=$1; shift
  (cd "$dir" && /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >/dev/null 2>&1)
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time"
}

overhead() { # name, args...
  local name=$1; shift
  local d=$work/$name
  rm -rf "$d"
  cp -r "$root/examples/$name" "$d"
  rm -rf "$d/out"
  if [ -f "$d/generate_data.py" ]; then (cd "$d" && $PY generate_data.py >/dev/null); fi
  measure "$d" $PY "$@" >/dev/null # warm the page cache
  local pw=() pc=() cw=() cc=() w c
  for _ in $(seq "$N"); do
    read -r w c < <(measure "$d" $PY "$@"); pw+=("$w"); pc+=("$c")
    read -r w c < <(measure "$d" "$REPRO" capture -o "$work/$name.toml" -- $PY "$@"); cw+=("$w"); cc+=("$c")
  done
  local mpw mcw mpc mcc
  mpw=$(printf '%s\n' "${pw[@]}" | median); mcw=$(printf '%s\n' "${cw[@]}" | median)
  mpc=$(printf '%s\n' "${pc[@]}" | median); mcc=$(printf '%s\n' "${cc[@]}" | median)
  printf '%-19s wall: plain %6.2f s capture %6.2f s ratio %.3f | cpu: plain %6.2f s capture %6.2f s ratio %.3f\n' \
    "$name" "$mpw" "$mcw" "$(echo "$mcw / $mpw" | bc -l)" "$mpc" "$mcc" "$(echo "$mcc / $mpc" | bc -l)"
  printf '    wall plain: %s | wall capture: %s\n' "${pw[*]}" "${cw[*]}"
}

echo "--- capture overhead, median of $N ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
overhead numpy-linalg linalg.py
overhead sklearn-classifier train.py
overhead threads threads.py

echo "--- hashing a 1 GiB file"
big=$work/big.bin
head -c $((1 << 30)) /dev/urandom >"$big"
drop() { sync; if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then echo dropped; else echo "not permitted"; fi; }
wall() { measure "$work" "$@" | cut -d' ' -f1; }
d=$(drop)
s_cold=$(wall sha256sum "$big")
drop >/dev/null
rm -rf "$XDG_CACHE_HOME"; r_cold=$(wall "$REPRO" capture -o "$work/h.toml" --data "$big" -- true)
s_warm=$(wall sha256sum "$big")
rm -rf "$XDG_CACHE_HOME"; r_warm=$(wall "$REPRO" capture -o "$work/h.toml" --data "$big" -- true)
r_cached=$(wall "$REPRO" capture -o "$work/h.toml" --data "$big" -- true)
printf 'page cache drop: %s\n' "$d"
printf 'cold: sha256sum %6.2f s  repro %6.2f s  ratio %.3f\n' "$s_cold" "$r_cold" "$(echo "$r_cold / $s_cold" | bc -l)"
printf 'warm: sha256sum %6.2f s  repro %6.2f s  ratio %.3f  (%.0f vs %.0f MiB/s)\n' "$s_warm" "$r_warm" \
  "$(echo "$r_warm / $s_warm" | bc -l)" "$(echo "1024 / $s_warm" | bc -l)" "$(echo "1024 / $r_warm" | bc -l)"
printf 'stat cache hit: repro %6.2f s (whole capture of `true` with --data)\n' "$r_cached"
