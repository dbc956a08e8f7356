# Shared by the side-by-side scripts (source it after `cd` to the repository):
# builds the release binary and the named examples, makes a scratch folder
# `$work` removed on exit, and defines `timed`.
#
# Usage: source bench/common.sh EXAMPLE...
set -euo pipefail
for example in "$@"; do
  cargo build --release --quiet --example "$example"
done
cargo build --release --quiet
bin=$PWD/target/release/latentscope
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# timed LABEL COMMAND...: one line with the whole process's wall seconds and
# peak RSS, the command's last line of output, and its last stderr line
# matching $TIMED_STDERR (when set: our steps report there).
timed() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
  read -r wall rss < "$work/t"
  local note=""
  if [ -n "${TIMED_STDERR:-}" ]; then
    note=$(grep -h -E "$TIMED_STDERR" "$work/err" | tail -n 1 || true)
  fi
  echo "$label: wall ${wall}s, peak ${rss} KB; $(tail -n 1 "$work/out") $note"
}
