#!/usr/bin/env bash
# Runs unit tests under valgrind (memcheck), one process per test.
# Usage: tests/unit/valgrind.sh BUILD_DIR [TEST...]   (default: every test)
# PYTHONMALLOC=malloc makes every Python allocation visible to valgrind.
set -u
build=${1:?usage: valgrind.sh BUILD_DIR [TEST...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/tests/unit/sysgi_unit_tests"
if [ $# -eq 0 ]; then
  set -- $(sed -n 's/^TEST_ENTRY(\([A-Za-z0-9_]*\)).*/\1/p' "$here/test-list.h" |
           grep -v '^cve_2014_0242_poison$')
fi
fail=0
for t in "$@"; do
  if PYTHONMALLOC=malloc valgrind -q --error-exitcode=99 --leak-check=no \
       --suppressions="$here/valgrind.supp" "$bin" "$t" >"/tmp/vg-$t.log" 2>&1; then
    echo "ok   $t"
  else
    echo "FAIL $t (see /tmp/vg-$t.log)"; fail=$((fail + 1))
  fi
done
echo "$fail failed"
[ "$fail" -eq 0 ]
