#!/usr/bin/env bash
# `make test`: builds (release and ASan/UBSan), runs every test level the
# machine allows and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
out=$(mktemp -d /tmp/setec-test.XXXXXX)
passed=0 failed=0 skipped=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }
step() { printf '\n==== %s\n' "$*"; }

step "build (release)"
if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j"$jobs"; then
  add 1 0
else
  add 0 1; echo "release build FAILED"
fi
step "build (ASan + UBSan)"
if cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSETEC_SANITIZE=ON >/dev/null && cmake --build build-asan -j"$jobs"; then
  add 1 0
else
  add 0 1; echo "ASan build FAILED"
fi

step "format check (clang-format)"
if git ls-files 'src/*.[ch]' 'tests/*.[ch]' | xargs -r clang-format --dry-run --Werror; then add 1 0; else add 0 1; fi

step "layer check (DESIGN.md §4: which layer may include which)"
if /usr/bin/python3 scripts/check-layers.py --self-test && /usr/bin/python3 scripts/check-layers.py; then add 1 0; else add 0 1; fi

step "no merge conflict markers in tracked files"
if git grep -nE '^(<<<<<<< |>>>>>>> )' -- . ':!scripts/run-tests.sh'; then add 0 1; else add 1 0; fi

# ctest summary: "100% tests passed, 0 tests failed out of 12"
run_ctest() {
  local dir=$1 log=$out/ctest-$(basename "$1").log
  if [ ! -d "$dir" ]; then add 0 1; return; fi
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs") | tee "$log"
  local total fail
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  fail=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  if [ -z "$total" ]; then add 0 1; else add $((total - fail)) "$fail"; fi
}
step "unit tests (release)"
run_ctest build
step "unit tests (ASan + UBSan)"
run_ctest build-asan

# pytest: counts taken from its JUnit report
run_pytest() { run_pytest_dir "$1" "$2" tests/api; }
run_pytest_dir() {
  local bin=$1 name=$2 dir=$3 xml=$out/pytest-$2.xml
  if [ ! -x "$bin" ]; then add 0 1; return; fi
  SETEC_BIN=$bin /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$xml" "$dir"
  if [ -f "$xml" ]; then
    read -r p f s < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f, sk)
PY
)
    add "$p" "$f" "$s"
  else
    add 0 1
  fi
}
step "API tests against the release binary"
run_pytest "$root/build/setec-manager" release
step "API tests against the ASan binary"
ASAN_OPTIONS=detect_leaks=0 run_pytest "$root/build-asan/setec-manager" asan

# System tests need root and namespaces (ufw in a private netns, useradd on an
# overlay /etc, journald in a throw-away container); each test skips itself
# when the machine cannot do what it needs.
step "system tests (namespaces, containers)"
if [ -d tests/system ] && ls tests/system/test_*.py >/dev/null 2>&1; then
  run_pytest_dir "$root/build/setec-manager" system tests/system
else
  echo "no system tests yet"
fi

step "UI tests (Playwright + Chromium)"
if command -v node >/dev/null && [ -x /usr/bin/chromium ] && [ -f tests/ui/package.json ]; then
  (cd tests/ui && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent; })
  for t in tests/ui/test_*.mjs; do
    log=$out/$(basename "$t").log
    SETEC_BIN=$root/build/setec-manager node "$t" 2>&1 | tee "$log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
    if [ -n "$line" ]; then
      add "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f3)"
    else
      add 0 1
    fi
  done
else
  echo "skipped: node or /usr/bin/chromium missing"; add 0 0 1
fi

# Fuzz targets (tests/fuzz): a clang build, then each target 10 s over its
# corpus; scripts/run-fuzz.sh alone runs this level (`make fuzz`: longer).
run_fuzz() {
  local log=$out/fuzz.log line
  FUZZ_TIME=${FUZZ_TIME:-10} scripts/run-fuzz.sh 2>&1 | tee "$log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  if grep -q '^skipped: ' "$log"; then
    add 0 0 1
  elif [ -n "$line" ]; then
    add "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f3)"
  else
    add 0 1
  fi
}
step "fuzz targets (libFuzzer + ASan/UBSan)"
run_fuzz

rm -rf "$out"
echo
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
