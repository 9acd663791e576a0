#!/usr/bin/env bash
# Installs the package with its test requirements, then runs the whole test suite: pytest (the
# Python API, the tutorials, the benchmark scripts on tiny data) and ctest (the C++ API, macros,
# and a compiled program built against the installed headers).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet -c constraints.txt ".[test]"
# Every optional test dependency is installed above: a test may not skip for want of one.
RDATALOADER_TEST_ALL=1 python3 -m pytest "$@"

ROOT_DIR=$(python3 -c "import ROOT, os; print(os.path.join(os.path.dirname(ROOT.__file__), 'cmake'))" 2>/dev/null)
cmake -S . -B build -DROOT_DIR="$ROOT_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
ctest --test-dir build --output-on-failure
