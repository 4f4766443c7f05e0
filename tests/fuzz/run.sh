#!/bin/sh
# run.sh TARGET BUILD_DIR NAME SEED_DIR [libFuzzer options...]: one fuzz
# smoke run. New inputs go to BUILD_DIR/corpus/NAME (the seed corpus in
# the source tree stays as it is); a crash, leak or timeout leaves its
# reproducer in BUILD_DIR/artifacts/NAME/ and fails the run. Repeat one
# with: TARGET BUILD_DIR/artifacts/NAME/crash-...
set -u
exe=$1 dir=$2 name=$3 seeds=$4
shift 4
mkdir -p "$dir/corpus/$name" "$dir/artifacts/$name"
"$exe" -artifact_prefix="$dir/artifacts/$name/" -print_final_stats=1 \
  "$@" "$dir/corpus/$name" "$seeds"
rc=$?
if [ $rc != 0 ]; then
  echo "fuzz $name: FAILED (exit $rc); reproducer(s):" >&2
  ls -l "$dir/artifacts/$name/" >&2
fi
exit $rc
