"""Command line of the course's grading tools: ``python -m grader --help``."""
from __future__ import annotations

import argparse
import sys

from . import course


def cmd_release(args) -> int:
    if args.clean:
        course.clean_generated(args.out)
    written = course.generate_student_notebooks(destination=args.out, lab_ids=args.labs or None)
    for path in written:
        print(f"generated {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description="CNN 手写体识别: instructor tools")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="generate notebooks/ (student versions) from solutions/")
    rel.add_argument("labs", nargs="*", help="labs to generate (default: all)")
    rel.add_argument("--out", type=course.Path, default=course.NOTEBOOKS, help="destination folder")
    rel.add_argument("--clean", action="store_true", help="remove generated lab folders first")
    rel.set_defaults(func=cmd_release)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
