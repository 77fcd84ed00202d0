#!/usr/bin/env bash
# Fuzz every target for SECONDS seconds each (default 600), one after the other, then merge
# what was found into the committed corpus, keeping only inputs that add coverage.
#
#   fuzz/run.sh            # 10 minutes per target, AddressSanitizer
#   fuzz/run.sh 60 idx     # one minute, one target
#   SANITIZER=none fuzz/run.sh 600   # no sanitizer: faster, catches panics and memory limits only
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The sanitizers need nightly rustc
# features; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks them (set below).
#
# Memory: -malloc_limit_mb makes any single allocation above 16 MiB a crash, and -rss_limit_mb
# caps the process at 512 MiB (2 GiB with AddressSanitizer, whose quarantine and shadow memory
# count too; ASAN_RSS_MB overrides it). Inputs are at most 4096 bytes, which justify 4 MiB even
# gzipped (deflate expands at most 1032-fold), so an allocation sized by a header's claim
# instead of the file's contents is reported as a crash. (With 256 MiB, a 35-byte gzipped IDX
# file reserving 47 MB went unnoticed: seeds/idx/gz-claims-47MB.)
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(idx model serve_api http)
fi
sanitizer=${SANITIZER:-address}
rss_mb=512
if [ "$sanitizer" = address ]; then
  rss_mb=${ASAN_RSS_MB:-2048}
fi
export RUSTC_BOOTSTRAP=1

for target in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "== $target: ${seconds}s, sanitizer $sanitizer" >&2
  dict=()
  if [ -f "dict/$target.dict" ]; then
    dict=("-dict=dict/$target.dict")
  fi
  # New inputs go to the scratch directory; the committed corpus and seeds are read only.
  cargo fuzz run -s "$sanitizer" "$target" "$scratch" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb="$rss_mb" -malloc_limit_mb=16 -print_final_stats=1 "${dict[@]}"
  # Keep what adds coverage to the committed corpus.
  mkdir -p "corpus/$target"
  cargo fuzz run -s "$sanitizer" "$target" "corpus/$target" "$scratch" "seeds/$target" -- \
    -set_cover_merge=1 -max_len=4096 -rss_limit_mb="$rss_mb" -malloc_limit_mb=16 "${dict[@]}" 2>&1 |
    grep -E "MERGE-OUTER: [0-9]+ new files" >&2 || true
  rm -rf "$scratch"
done
