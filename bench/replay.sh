#!/usr/bin/env bash
# Benchmark for repro replay (issue 6): the replay's wall time minus the
# plain run's wall time, per example, with the image already loaded in
# Docker (the first replay builds and loads it and is not counted). Median
# of N runs each, interleaved. The overhead covers the signature check,
# finding the image, the hardware check, creating/starting/removing the
# container (networking off), copying the outputs out and comparing them.
# Target: at most 2 s. For reference, the same image and command under a
# bare "docker run --rm --network none" (same user, workdir, environment):
# replay minus that is repro's own cost; docker run minus plain is the
# engine's (container setup, and reading the image's files through the
# storage driver, e.g. fuse-overlayfs).
#
# Usage: bench/replay.sh [N]   (default 5; needs Go, Docker, /usr/bin/python3 with numpy/sklearn)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${1:-5}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/repro-bench-replay-XXXXXX)
images=()
cleanup() {
  for i in "${images[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/repro" ./cmd/repro
REPRO=$work/repro
# repro's caches (hashes, verified images) start empty; set after go build,
# which would otherwise rebuild everything in an empty cache.
export XDG_CACHE_HOME=$work/cache

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
# wall DIR CMD...: wall seconds of one run of CMD in DIR (it must succeed).
wall() {
  local dir=$1; shift
  local t0 t1
  t0=$(now)
  (cd "$dir" && "$@" >/dev/null 2>&1)
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# dockerrun DIR IMAGE: the manifest's command under a bare docker run.
dockerrun() {
  local dir=$1 image=$2
  local args
  mapfile -t args < <($PY - "$dir/manifest.toml" <<'PYEOF'
import sys, tomllib
m = tomllib.load(open(sys.argv[1], "rb"))
r = m["run"]
print("--user"); print("%d:%d" % (r["uid"], r["gid"]))
print("--workdir"); print(r["workdir"])
for k, v in sorted(r.get("env", {}).items()):
    print("--env"); print("%s=%s" % (k, v))
print("--entrypoint="); print("__IMAGE__")
for a in r["argv"]:
    print(a)
PYEOF
)
  for i in "${!args[@]}"; do [ "${args[$i]}" = __IMAGE__ ] && args[$i]=$image; done
  wall "$dir" docker run --rm --network none "${args[@]}"
}

printf '%-20s %9s %11s %10s %14s %14s\n' example "plain (s)" "docker (s)" "replay (s)" "replay-plain" "replay-docker"
bench() { # name, argv...
  local name=$1; shift
  local d=$work/$name
  cp -r "$root/examples/$name" "$d"
  rm -rf "$d/out"
  if [ -f "$d/generate_data.py" ]; then (cd "$d" && $PY generate_data.py >/dev/null); fi
  local flags=()
  if [ "$name" = timestamp ]; then flags=(--runs 2); fi
  (cd "$d" && "$REPRO" capture "${flags[@]}" -- "$@" >/dev/null 2>&1)
  # First replay: builds and loads the image (not measured).
  (cd "$d" && "$REPRO" replay --insecure-unsigned --json manifest.toml >"$work/$name.json" 2>/dev/null)
  images+=("$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["ref"])' "$work/$name.json")")
  local image=${images[-1]}
  local plain=() dock=() rep=()
  for _ in $(seq "$N"); do
    plain+=("$(wall "$d" "$@")")
    dock+=("$(dockerrun "$d" "$image")")
    rep+=("$(wall "$d" "$REPRO" replay --insecure-unsigned manifest.toml)")
  done
  local p k r
  p=$(printf '%s\n' "${plain[@]}" | median)
  k=$(printf '%s\n' "${dock[@]}" | median)
  r=$(printf '%s\n' "${rep[@]}" | median)
  printf '%-20s %9.2f %11.2f %10.2f %+13.2fs %+13.2fs\n' "$name" "$p" "$k" "$r" \
    "$(awk -v a="$p" -v b="$r" 'BEGIN { print b - a }')" "$(awk -v a="$k" -v b="$r" 'BEGIN { print b - a }')"
}

bench blas-kernel $PY blas.py
bench numpy-linalg $PY linalg.py --size 200
bench sklearn-classifier $PY train.py
bench timestamp $PY stamp.py
