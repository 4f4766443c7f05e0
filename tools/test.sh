#!/usr/bin/env bash
# Runs every test sysgi has, in the order a failure is cheapest to read:
#   1. native build (core, mod_sysgi): unit, Apache and conformance tests;
#   2. the core's unit tests again under AddressSanitizer + UBSan, and under
#      valgrind (memcheck, Python's allocations made visible to it);
#   3. the Windows cross build (mingw-w64) and its tests under Wine;
#   4. a smoke run of the benchmark script (checks that it works, not speed),
#      and the instruction-count check (bench/icount.py --check: mod_sysgi's
#      own instructions per hello request and per yield, counted by
#      callgrind, at most 10% above bench/profile-baseline.json);
#   5. the libFuzzer targets (tests/fuzz, clang, build-fuzz): 60 s each, two
#      at a time, plus the reproducers of every crash found (README
#      "Fuzzing"); a crash fails the step and leaves the reproducer in
#      build-fuzz/tests/fuzz/artifacts/<target>/.
# Each step is a CTest run; the last line sums them up.
#   The Windows step builds mod_sysgi for Windows against the Apache for
#   Windows fixture (../shared/apache-win, unpacked into .deps/apache-win by
#   tools/unpack-fixtures.sh; the shared dir is $SYSGI_SHARED, the
#   checkout's ../shared or /work/shared) and runs it under Wine with the
#   Windows CPython of ../shared/winpy. Without that tree the step FAILS
#   ("did not run"), unless --skip-apache-win says so on purpose.
# Usage: tools/test.sh [--skip-asan] [--skip-valgrind] [--skip-wine] [--skip-winpy] [--skip-apache-win] [--skip-bench] [--skip-fuzz] [--skip-profile]
# --skip-winpy leaves out the Windows end-to-end suite (tests/wine/e2e, a
# real Windows CPython under Wine); without it that suite fails loudly when
# no CPython is found (SYSGI_WINPY or the shared fixture tarball).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
skip_asan=0 skip_valgrind=0 skip_wine=0 skip_winpy=0 skip_bench=0 skip_apache_win=0 skip_fuzz=0 skip_profile=0
for a in "$@"; do
  case "$a" in
    --skip-asan) skip_asan=1 ;;
    --skip-valgrind) skip_valgrind=1 ;;
    --skip-wine) skip_wine=1 ;;
    --skip-winpy) skip_winpy=1 ;;
    --skip-apache-win) skip_apache_win=1 ;;
    --skip-bench) skip_bench=1 ;;
    --skip-fuzz) skip_fuzz=1 ;;
    --skip-profile) skip_profile=1 ;;
    *) echo "usage: tools/test.sh [--skip-asan] [--skip-valgrind] [--skip-wine] [--skip-winpy] [--skip-apache-win] [--skip-bench] [--skip-fuzz] [--skip-profile]" >&2; exit 2 ;;
  esac
done

total_pass=0 total_fail=0 failed_steps=()

# run_ctest NAME BUILD_DIR: runs CTest there and adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2 log
  log=$(mktemp)
  echo "== $name: ctest in $dir"
  (cd "$dir" && ctest --output-on-failure --timeout 1200 -j"$jobs") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    local failed total
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    total_pass=$((total_pass + total - failed))
    total_fail=$((total_fail + failed))
  fi
  if [ "$rc" != 0 ] || [ -z "$line" ]; then failed_steps+=("$name"); fi
  rm -f "$log"
}

# step NAME CMD...: a build step; a failure is counted and reported.
step() {
  local name=$1; shift
  echo "== $name"
  if ! "$@"; then failed_steps+=("$name"); total_fail=$((total_fail + 1)); return 1; fi
}

pysrc="$root/.deps/python-src"

if step "native build" cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
   step "native compile" cmake --build build -j"$jobs"; then
  run_ctest "native tests" build
  # One named result per item of the seed change log (issue: the conformance
  # list reads like the change log), from CTest's full log.
  echo "== conformance results (tests/conformance, one per change-log item)"
  grep -E '^tests/conformance/.*(PASSED|FAILED|ERROR|SKIPPED|XFAIL)' \
    build/Testing/Temporary/LastTest.log 2>/dev/null | sed -E 's/ +\[ *[0-9]+%\]$//' ||
    echo "(no conformance results found)"
fi

if [ $skip_asan = 0 ]; then
  if step "asan build" cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
        -DSYSGI_BUILD_APACHE=OFF -DSYSGI_SANITIZE=address,undefined >/dev/null &&
     step "asan compile" cmake --build build-asan -j"$jobs"; then
    run_ctest "unit tests under ASan+UBSan" build-asan
  fi
fi

if [ $skip_valgrind = 0 ] && [ -x build/tests/unit/sysgi_unit_tests ]; then
  if step "unit tests under valgrind" bash tests/unit/valgrind.sh build; then
    total_pass=$((total_pass + 1))
  fi
fi

if [ $skip_wine = 0 ]; then
  e2e=ON
  if [ $skip_winpy = 1 ]; then
    e2e=OFF
    echo "== Windows end-to-end suite (tests/wine/e2e, CTest wine_e2e): skipped on request (--skip-winpy)"
  fi
  apache_root="$root/.deps/apache-win/Apache24"
  apache_args=(-DAPACHE_ROOT=)
  if [ $skip_apache_win = 0 ]; then
    bash tools/unpack-fixtures.sh apache-win winpy
    if [ -f "$apache_root/include/httpd.h" ]; then
      apache_args=(-DAPACHE_ROOT="$apache_root")
    else
      echo "== windows Apache suite: did NOT run: no Apache for Windows tree in $apache_root (see above; --skip-apache-win skips it on purpose)"
      failed_steps+=("windows Apache suite (did not run)"); total_fail=$((total_fail + 1))
    fi
  else
    echo "== windows Apache suite: skipped (--skip-apache-win)"
  fi
  if step "windows cross build" cmake -S . -B build-win -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake -DSYSGI_PYTHON_SRC="$pysrc" \
        -DSYSGI_WINE_E2E=$e2e "${apache_args[@]}" >/dev/null &&
     step "windows compile" cmake --build build-win -j"$jobs"; then
    run_ctest "windows tests under Wine" build-win
  fi
fi

if [ $skip_bench = 0 ] && [ -f bench/run.py ]; then
  if step "bench smoke run" /usr/bin/python3 bench/run.py --quick --module build/apache-win/mod_sysgi.so \
        --out "$root/build/bench-smoke"; then
    total_pass=$((total_pass + 1))
  fi
fi

if [ $skip_profile = 0 ] && [ -f bench/icount.py ]; then
  # Instructions, not seconds: callgrind counts do not move with the load.
  if step "instruction-count check" /usr/bin/python3 bench/icount.py \
        --check bench/profile-baseline.json --module build/apache-win/mod_sysgi.so; then
    total_pass=$((total_pass + 1))
  fi
fi

if [ $skip_fuzz = 0 ]; then
  if step "fuzz build" env CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSYSGI_FUZZ=ON -DSYSGI_FUZZ_SECONDS=60 >/dev/null &&
     step "fuzz compile" cmake --build build-fuzz -j"$jobs"; then
    run_ctest "fuzz smoke runs" build-fuzz
  fi
else
  echo "== fuzz smoke runs: skipped (--skip-fuzz)"
fi

echo
if [ ${#failed_steps[@]} -gt 0 ]; then echo "failed steps: ${failed_steps[*]}"; fi
echo "sysgi: $total_pass passed, $total_fail failed"
[ ${#failed_steps[@]} -eq 0 ] && [ "$total_fail" -eq 0 ]
