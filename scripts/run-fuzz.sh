#!/usr/bin/env bash
# Test level 5 (tests/fuzz): builds the libFuzzer targets with clang in
# build-fuzz, then runs each over its checked-in corpus for FUZZ_TIME seconds
# (default 10). The corpus is only read: new inputs go to a temp directory,
# unless FUZZ_MERGE=1, which merges those that reach new code back into
# tests/fuzz/corpus. A failing input is kept under
# build-fuzz/fuzz-artifacts/. Ends with "N passed, N failed" (one per target),
# or with "skipped: ..." when clang or libFuzzer is missing.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
time_per=${FUZZ_TIME:-10}
targets=(router fields config cron token providers ari cert ufw websocket ini helpmsg listq)

tmp=$(mktemp -d /tmp/setec-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v clang >/dev/null; then
  echo "skipped: clang missing (scripts/install-deps.sh test installs clang and libclang-rt-14-dev)"
  exit 0
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$tmp/probe.c"
if ! clang -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" 2>/dev/null; then
  echo "skipped: clang cannot link libFuzzer (Debian package libclang-rt-14-dev)"
  exit 0
fi

echo "building build-fuzz (clang, libFuzzer + ASan/UBSan)"
if ! { cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSETEC_FUZZ=ON >"$tmp/build.log" 2>&1 &&
    cmake --build build-fuzz --target fuzz -j"$(nproc)" >>"$tmp/build.log" 2>&1; }; then
  tail -40 "$tmp/build.log"
  echo "fuzz build FAILED"
  echo "0 passed, ${#targets[@]} failed"
  exit 1
fi

passed=0 failed=0
for t in "${targets[@]}"; do
  bin=build-fuzz/tests/fuzz/fuzz_$t
  log=$tmp/$t.log
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  mkdir -p "$tmp/$t" "$tmp/art-$t"
  # the first directory receives new inputs; the corpus after it is read only
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$bin" -max_total_time="$time_per" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" -artifact_prefix="$tmp/art-$t/" \
      "$tmp/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "PASS fuzz_$t (${runs:-?} inputs in ${time_per} s)"
    passed=$((passed + 1))
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
      # new edges only (not hit counts): the checked-in corpora stay small
      "$bin" -merge=1 -use_counters=0 "tests/fuzz/corpus/$t" "$tmp/$t" >"$tmp/$t.merge.log" 2>&1 ||
        echo "merge into tests/fuzz/corpus/$t FAILED"
      echo "  corpus/$t: $(find "tests/fuzz/corpus/$t" -type f | wc -l) files"
    fi
  else
    failed=$((failed + 1))
    echo "FAIL fuzz_$t"
    grep -E 'fuzz invariant failed|ERROR: |SUMMARY: |runtime error' "$log" | head -5
    grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in .* /.*/(src|tests)/' "$log" | head -6
    mkdir -p build-fuzz/fuzz-artifacts
    for a in "$tmp/art-$t"/*; do
      [ -f "$a" ] || continue
      keep=build-fuzz/fuzz-artifacts/fuzz_$t-$(basename "$a")
      cp "$a" "$keep"
      echo "  input kept in $keep (reproduce: $bin $keep)"
    done
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
