"""``python -m rdataloader``: the include path for ROOT macros and CMake (``--include-dir``), and what a file
holds and how the loader would read each of its columns (``inspect FILE [NAME]``)."""

import argparse
import sys

from . import __version__, include_dir

parser = argparse.ArgumentParser(prog="python -m rdataloader", description=__doc__)
parser.add_argument("--include-dir", action="store_true", help="print the directory holding ROOT/ML/*.hxx")
parser.add_argument("--version", action="version", version=__version__)
commands = parser.add_subparsers(dest="command")
inspect = commands.add_parser(
    "inspect",
    help="list a TTree's or RNTuple's columns, their types, and which reading path each would take",
    description="Lists the entries and clusters of a TTree or RNTuple and, per column, its type, what the loader "
    "delivers it as, and what reads it: the parallel file readers ('TTree baskets', 'RNTuple pages') or RDataFrame's "
    "event loop, one thread, with the reason.",
)
inspect.add_argument("file", help="a ROOT file (path or URL)")
inspect.add_argument("name", nargs="?", help="the TTree or RNTuple; needed when the file holds more than one")
args = parser.parse_args()
if args.command == "inspect":
    from ._inspect import inspect_file

    try:
        print(inspect_file(args.file, args.name))
    except (OSError, ValueError) as error:
        sys.exit(f"python -m rdataloader inspect: {error}")
elif args.include_dir:
    print(include_dir())
else:
    parser.print_help()
