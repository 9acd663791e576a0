#!/usr/bin/env bash
# Installs the package with its test requirements, then runs the whole test suite: pytest (the
# Python API, the tutorials, the benchmark scripts on tiny data) and ctest (the C++ API, macros,
# and a compiled program built against the installed headers).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet -c constraints.txt ".[test]"
# Every optional test dependency is installed above: a test may not skip for want of one. Two pytest workers
# (RDATALOADER_TEST_WORKERS), each given whole modules (or classes), so that cling compiles a module's
# engines in one process. A worker that crashes ends the run (xdist would start another, and with loadscope could
# then wait forever).
RDATALOADER_TEST_ALL=1 python3 -m pytest -n "${RDATALOADER_TEST_WORKERS:-2}" --dist loadscope --max-worker-restart=0 "$@"

ROOT_DIR=$(python3 -c "import ROOT, os; print(os.path.join(os.path.dirname(ROOT.__file__), 'cmake'))" 2>/dev/null)
cmake -S . -B build -DROOT_DIR="$ROOT_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
ctest --test-dir build --output-on-failure -j "${RDATALOADER_TEST_WORKERS:-2}"
