#!/usr/bin/env bash
# The sanitizer builds, by hand (each builds everything again: several minutes on two cores):
#   scripts/sanitize.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/): the whole test suite
#   scripts/sanitize.sh tsan   ThreadSanitizer (build-tsan/): four sessions over one model on four threads at once,
#                              and the server under concurrent clients (its tests, the server built with TSan)
# OpenMP's runtime (libgomp) is not instrumented, so ThreadSanitizer cannot see the barriers of a team: a region's
# writes and the code after it look like a race (measured: make_kv_cache's first touch). The TSan runs therefore give
# each session one OpenMP thread (OMP_NUM_THREADS=1; the concurrency under test is the sessions' own threads and the
# server's workers), and ignore reports whose stack is inside libgomp. Debian's cpp-httplib is a shared library built
# without TSan too (its atomics are as invisible): reports from inside it are ignored the same way (measured: a
# memcmp/memcpy pair inside its worker loop, on a block it allocated).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
  asan)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESA_SANITIZE=ON -DRESA_BUILD_BENCH=OFF >/dev/null
    cmake --build build-asan -j2 >/dev/null
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan -j2 --timeout 1800 --output-on-failure ;;
  tsan)
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESA_TSAN=ON -DRESA_BUILD_BENCH=OFF \
      -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST >/dev/null
    cmake --build build-tsan -j2 >/dev/null
    printf 'called_from_lib:libgomp.so.1\ncalled_from_lib:libcpp-httplib.so.0.11\n' >build-tsan/tsan.supp
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/build-tsan/tsan.supp"
    export OMP_NUM_THREADS=1
    ctest --test-dir build-tsan --output-on-failure --timeout 1800 \
      -R 'Session.SessionsOnSeveralThreadsAtOnceOneOpenMpThreadEach|fixture.chat_model|Serve' ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan" >&2; exit 2 ;;
esac
