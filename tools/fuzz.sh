#!/bin/bash
# fuzz.sh - `make fuzz`: build every tests/fuzz/fuzz-*.c with libFuzzer + ASan/UBSan, run each N seconds.
#
#   tools/fuzz.sh [SECONDS] [NAME...]     (default 30 s each, every target)
#
# Each target starts from a copy of its committed corpus (tests/fuzz/corpus/NAME) in a
# scratch directory (build/fuzz/corpus/NAME) and grows that copy only: the committed
# corpus is never written automatically.  To keep an interesting input, copy it from
# the scratch directory by hand and commit it (it then replays in `make test`).
# Crashes are written to build/fuzz/crash-NAME-*; the script exits 1 if any target failed.
set -u
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
CC=${FUZZ_CC:-clang}
out=build/fuzz
pkgs="libpq libcurl jansson yaml-0.1 libsodium libmicrohttpd gnutls libidn2"
cflags="-std=c11 -D_GNU_SOURCE -Isrc/core -Isrc/domain -Isrc/web -Isrc/fleet -Isrc/ctl -g -O1 -fno-omit-frame-pointer $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lfcgi -lm -lresolv"
san="address,undefined"

command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$out/obj" "$out/corpus"

# The library once, instrumented for coverage (fuzzer-no-link) and the sanitizers.
objs=()
for src in src/core/*.c src/domain/*.c src/web/*.c src/fleet/*.c src/ctl/*.c; do
	obj="$out/obj/$(basename "${src%.c}").o"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src -name '*.h' -newer "$obj" | head -n 1)" ]; then
		$CC $cflags -fsanitize=fuzzer-no-link,$san -c -o "$obj" "$src" || exit 1
	fi
	objs+=("$obj")
done

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz-*.c; do
		n=${f#tests/fuzz/fuzz-}
		names+=("${n%.c}")
	done
fi

failed=0
printf '%-14s %8s %10s %8s  %s\n' target seconds execs/s corpus result
for name in "${names[@]}"; do
	bin="$out/fuzz-$name"
	scratch="$out/corpus/$name"
	$CC $cflags -fsanitize=fuzzer,$san -o "$bin" "tests/fuzz/fuzz-$name.c" "${objs[@]}" $libs || {
		failed=1
		continue
	}
	mkdir -p "$scratch"
	[ -d "tests/fuzz/corpus/$name" ] && cp -n "tests/fuzz/corpus/$name"/* "$scratch"/ 2>/dev/null
	log="$out/fuzz-$name.log"
	# -max_len: bodies and headers beyond 64 KiB never reach the parsers (nginx, body_max).
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/crash-$name-" -print_final_stats=1 "$scratch" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	result=ok
	if [ $rc -ne 0 ]; then
		result="FAILED (see $log)"
		failed=1
	fi
	printf '%-14s %8s %10s %8s  %s\n' "$name" "$secs" "${execs:-?}" "$(ls "$scratch" | wc -l)" "$result"
done
exit $failed
