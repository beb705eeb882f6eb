#!/usr/bin/env bash
# The compiled backends (Cython and C through cffi) under AddressSanitizer and
# UndefinedBehaviorSanitizer: builds them with -fsanitize=address,undefined (plus
# float-cast-overflow; UBSan made fatal), compile and link, in a throwaway copy of this
# repository with its own venv (the in-place build and .venv are never touched), then runs
# every test parametrised by those two backends (conformance with its hypothesis tests,
# boundary, validation, decoding, preprocessing, OpenCV agreement), plus ROUNDS more runs
# of the hypothesis tests with other seeds.
#
# Fails on any sanitizer report: ASan and UBSan abort the process, and the log is also
# searched for reports in case one did not. Prints how many tests and how many
# hypothesis-generated inputs ran.
#
#   bash ci/sanitize.sh               from the repository root (CI: .ci/run)
#   PYTHON=python3.12 bash ci/sanitize.sh
#   KEEP=1 bash ci/sanitize.sh        keep the throwaway copy (its path is printed)
#   ROUNDS=0 bash ci/sanitize.sh      no extra hypothesis rounds (default 0; CI is near its 20 min)
#
# Needs gcc (with its libasan and libubsan), nm, python3 with venv and its headers; pip
# installs the rest into the throwaway venv.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-python3}
CC=${CC:-gcc}
export CC
SECONDS=0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/accel-sanitize.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "sanitize: keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
SRC=$WORK/src
LOG=$WORK/pytest.log
mkdir -p "$SRC"

# The working tree as it is (uncommitted edits and new files included), without what
# git ignores: no .venv*, build/, *.so, generated .c or egg-info.
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard \
        | "$PYTHON" -c 'import os, sys
names = sys.stdin.buffer.read().split(b"\0")
sys.stdout.buffer.write(b"".join(n + b"\0" for n in names if n and os.path.isfile(n)))' \
        | tar -C "$REPO" --null -T - -cf - | tar -C "$SRC" -xf -
else
    tar -C "$REPO" --exclude='./.venv*' --exclude=./build --exclude='*.so' \
        --exclude='*.egg-info' --exclude=./.git --exclude='__pycache__' \
        --exclude='./accel/_backends/cython/*.c' --exclude='./accel/_backends/cffi/_ext.c' \
        -cf - . | tar -C "$SRC" -xf -
fi

# float-cast-overflow (a double that does not fit the integer it is converted to, NaN
# included) is undefined behaviour that gcc's "undefined" group leaves out.
# -fno-sanitize-recover=all: a UBSan finding aborts instead of printing and going on.
# -fno-wrapv undoes CPython's -fwrapv (in its CFLAGS, used for extensions), under which
# signed overflow is defined and UBSan would not check it. -O1 -g: readable reports.
SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all"
SAN="$SAN -fno-omit-frame-pointer"
export ACCEL_EXTRA_CFLAGS="$SAN -fno-wrapv -O1 -g"
export LDFLAGS="${LDFLAGS:-} $SAN"
export ACCEL_REQUIRE_BACKENDS=cython,cffi
export ACCEL_SKIP_BACKENDS=
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "=== sanitize: building the cython and cffi backends with $SAN"
cd "$SRC"
"$PYTHON" -m venv "$WORK/venv"
VPY=$WORK/venv/bin/python
"$VPY" -m pip install -q -e ".[test]"

# Each compiled module must be instrumented (setup.py could drop the flags silently).
# One Cython module per kernel family (setup.py's FAMILIES), the AVX2 twins built on
# x86-64 (nms_avx2.pyx: one per twin .pyx), plus the one cffi module.
FAMILIES=$("$VPY" -c "import ast; t = ast.parse(open('setup.py').read()); print(next(len(n.value.elts) for n in t.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'FAMILIES'))")
TWINS=0
case "$(uname -m)" in x86_64|amd64) TWINS=$(ls accel/_backends/cython/*_avx2.pyx | wc -l) ;; esac
EXPECTED=$(( FAMILIES + TWINS + 1 ))
SOS=$(find accel/_backends -name '*.so' | sort)
[ "$(echo "$SOS" | grep -c .)" -eq "$EXPECTED" ] || { echo "sanitize: expected $EXPECTED extensions, got: $SOS"; exit 1; }
for so in $SOS; do
    syms=$(nm -D "$so")
    if ! grep -q '__asan_report' <<<"$syms" || ! grep -q '__ubsan_handle' <<<"$syms"; then
        echo "sanitize: $so is not built with ASan and UBSan"
        exit 1
    fi
done
echo "instrumented: $(echo $SOS | tr '\n' ' ')"
echo "build: ${SECONDS}s"

# CPython is not instrumented, so the sanitizer runtimes must be loaded first.
PRELOAD="$("$CC" -print-file-name=libasan.so) $("$CC" -print-file-name=libubsan.so)"
for lib in $PRELOAD; do
    [ -e "$lib" ] || { echo "sanitize: $lib not found"; exit 1; }
done
# Leak detection is off: CPython's own allocations would flood it.
ASAN="detect_leaks=0:abort_on_error=1:halt_on_error=1"
UBSAN="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

# Every test parametrised by backend has the backend in its id ([cffi-...], [cython-...]):
# the conformance (hypothesis included), boundary, validation, decoding and
# preprocessing tests on these two backends, whatever file they live in.
SELECT="cffi or cython"
# The hypothesis tests fix max_examples in the test files; ROUNDS further runs of them
# with other seeds give the sanitizers more generated inputs.
ROUNDS=${ROUNDS:-0}

status=0
run_pytest() { # run_pytest LABEL SELECTION ARGS...: appends to $LOG, records a failure
    local label=$1 selection=$2 rc=0
    shift 2
    echo "=== sanitize: $label"
    # --capture=sys: sanitizer reports go to the real stderr (into the log), not into
    # pytest's per-test capture of fd 2, which an abort would lose.
    # -v: each test's id is written before it runs, so an abort names the test.
    env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS="$ASAN" UBSAN_OPTIONS="$UBSAN" \
        "$VPY" -m pytest -v -p no:cacheprovider --capture=sys -k "$selection" \
        --hypothesis-show-statistics "$@" >"$LOG.part" 2>&1 || rc=$?
    cat "$LOG.part" >>"$LOG"
    # Show the log without the passing tests and the (long) hypothesis statistics.
    grep -v -E ' PASSED +\[ *[0-9]+%\]$|^ *- |^tests/.*::.*:$|^$|Hypothesis Statistics' \
        "$LOG.part" || true
    if [ "$rc" -eq 5 ] && [ "${ALLOW_EMPTY:-0}" = 1 ]; then
        echo "sanitize: no hypothesis test on these backends"
        return 1
    elif [ "$rc" -ne 0 ]; then
        echo "sanitize: pytest exited with $rc ($label)"
        status=1
    fi
}
: >"$LOG"
run_pytest "pytest -k '$SELECT' tests" "$SELECT" tests
# The rounds collect only the files that use hypothesis.
mapfile -t HYP_FILES < <(grep -l -E '^from hypothesis|^import hypothesis' tests/test_*.py || true)
rounds_run=0
for seed in $(seq 1 "$ROUNDS"); do
    [ "$status" -eq 0 ] && [ ${#HYP_FILES[@]} -gt 0 ] || break
    ALLOW_EMPTY=1 run_pytest \
        "hypothesis round $seed/$ROUNDS: pytest -k '($SELECT) and hypothesis' ${HYP_FILES[*]}" \
        "($SELECT) and hypothesis" --hypothesis-seed="$seed" "${HYP_FILES[@]}" || break
    rounds_run=$seed
done

# A sanitizer report fails the script even if it did not abort the process.
pattern='ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
reports=$(grep -c -E "$pattern" "$LOG" || true)
if [ "$reports" -gt 0 ]; then
    echo "=== sanitize: sanitizer report(s) (full text above):"
    grep -E -A 4 "$pattern" "$LOG" | head -100 || true
    status=1
fi

# Tests: the PASSED lines of pytest -v (also counted before an abort). Inputs:
# hypothesis's per-test "N passing" counts (generate and reuse phases) over the runs.
tests=$(grep -c -E '^tests/.*::.* PASSED' "$LOG" || true)
examples=$({ grep -E '^ *- [0-9]+ passing' "$LOG" || true; } \
    | { grep -o -E '[0-9]+ passing' || true; } | awk '{s += $1} END {print s + 0}')
hyp_runs=$(grep -c -E '^tests/.*::test_.*:$' "$LOG" || true)
echo "=== sanitize: $tests tests passed ($rounds_run extra hypothesis rounds included);" \
    "$examples hypothesis-generated inputs passed over $hyp_runs hypothesis test runs;" \
    "$reports sanitizer report line(s); ${SECONDS}s"
if [ "$status" -ne 0 ]; then
    echo "sanitize: FAILED"
    exit 1
fi
echo "sanitize: OK"
