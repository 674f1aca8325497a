#!/usr/bin/env bash
# `make fuzz`: builds agent-fuzz with libFuzzer and AddressSanitizer, runs every target for
# FUZZ_SECONDS (default 60) from its committed seed corpus (Fuzz/corpus/TARGET), and reports
# executions and crashes per target. Exit 1 when any target crashed; the crashing inputs are in
# .build/fuzz-artifacts/TARGET/ (replay: .build/debug/agent-fuzz TARGET FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"json xml manifest journal toml config profile sigv4 age httpheaders keys"}
BUILD=.build/fuzz

toolchain=$(dirname "$(readlink -f "$(command -v swiftc)")")/..
runtime=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1)
if [ -z "$runtime" ]; then
  echo "libFuzzer runtime (libclang_rt.fuzzer_no_main) not found under $toolchain/lib/clang" >&2
  exit 2
fi

# Swift code instrumented for coverage and checked by ASan; libFuzzer without its main(): the
# driver in Fuzz/Sources/main.swift calls LLVMFuzzerRunDriver for the target named first.
if ! "$SWIFT" build -c release --build-path "$BUILD" --product agent-fuzz \
  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
  -Xswiftc -DFUZZING -Xlinker "$runtime" -Xlinker -lstdc++ > "$BUILD.log" 2>&1; then
  grep -E "error" "$BUILD.log" | head -20 >&2
  echo "the fuzz build failed (full log: $BUILD.log)" >&2
  exit 2
fi
binary="$BUILD/release/agent-fuzz"

report=.build/fuzz-report.txt
: > "$report"
status=0
printf '%-10s %12s %8s %8s %s\n' target executions crashes corpus seconds | tee -a "$report"
for target in $TARGETS; do
  work=.build/fuzz-corpus/$target
  artifacts=.build/fuzz-artifacts/$target
  mkdir -p "$work" "$artifacts" "Fuzz/corpus/$target"
  log=.build/fuzz-$target.log
  dict=()
  [ -f "Fuzz/dictionaries/$target.dict" ] && dict=(-dict="Fuzz/dictionaries/$target.dict")
  # In process (fast); a crash, timeout or OOM ends this target's run with the input saved.
  set +e
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$binary" "$target" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" \
    "$work" "Fuzz/corpus/$target" > "$log" 2>&1
  set -e
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  corpus=$(find "$work" -type f | wc -l)
  printf '%-10s %12s %8s %8s %s\n' "$target" "${execs:-0}" "$crashes" "$corpus" "$SECONDS_PER_TARGET" | tee -a "$report"
  [ "$crashes" = 0 ] || status=1
done
echo "report: $report; crashing inputs (if any): .build/fuzz-artifacts/"
exit $status
