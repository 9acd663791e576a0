"""``python -m rdataloader --include-dir`` prints the include path for ROOT macros and CMake."""

import argparse

from . import __version__, include_dir

parser = argparse.ArgumentParser(prog="python -m rdataloader", description=__doc__)
parser.add_argument("--include-dir", action="store_true", help="print the directory holding ROOT/ML/*.hxx")
parser.add_argument("--version", action="version", version=__version__)
args = parser.parse_args()
if args.include_dir:
    print(include_dir())
else:
    parser.print_help()
