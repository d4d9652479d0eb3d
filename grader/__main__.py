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


def _workspace(args):
    from .grading import Workspace

    return Workspace(root=args.workspace, db_url=args.db_url)


def cmd_collect(args) -> int:
    from . import collect

    ws = _workspace(args)
    ws.root.mkdir(parents=True, exist_ok=True)
    try:
        limits = collect.Limits.from_options(notebook=args.max_notebook_size, student=args.max_student_size,
                                             export=args.max_export_size, depth=args.max_depth)
    except ValueError as error:
        raise SystemExit(f"collect: {error}")
    report = collect.collect(args.path, ws.root, ws.labs(), patterns=args.pattern or None, clean=args.clean,
                             limits=limits)
    print(collect.summary(report))
    return 0


def cmd_autograde(args) -> int:
    from . import grading
    from .sandbox import Limits

    limits = Limits.from_options(total_memory=args.total_memory, memory=args.memory, processes=args.processes,
                                 cpus=args.cpus, cpu_time=args.cpu_time, disk=args.disk,
                                 cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                                 output_bytes=args.max_output)
    ws = _workspace(args)
    try:
        results = grading.autograde(ws, labs=args.labs or None, students=args.student or None,
                                    workers=args.workers, limits=limits, unsafe=args.unsafe,
                                    force=args.force, uid_base=args.uid_base, progress=not args.quiet,
                                    scheduler=args.scheduler)
    except KeyboardInterrupt:
        return 130
    bad = [r for r in results if r.failed or r.tampering]
    print(f"{len(results)} submissions, {len(bad)} to look at (python -m grader report)")
    for r in bad:
        notes = "; ".join(r.problems + r.tampering + r.events)
        print(f"  {r.student} {r.lab}: {r.status}: {notes}")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(f"{len(failed)} not graded because the grader itself failed (logs in {ws.root / 'logs'}); "
              "run autograde again to retry them")
    return 0


def cmd_feedback(args) -> int:
    from . import grading

    problems = grading.generate_feedback(_workspace(args), labs=args.labs or None, progress=not args.quiet,
                                         workers=args.workers)
    for line in problems:
        print(line)
    print(f"feedback in {_workspace(args).feedback}")
    return 1 if problems else 0


def cmd_report(args) -> int:
    from . import report

    print(report.print_summary(report.build(_workspace(args), args.out)))
    return 0


def main(argv: list[str] | None = None) -> int:
    import warnings

    # nbgrader's gradebook triggers SQLAlchemy's autoflush warnings on every submission
    warnings.filterwarnings("ignore", message="Object of type <Submitted")
    parser = argparse.ArgumentParser(prog="python -m grader", description="CNN 手写体识别: instructor tools")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="generate notebooks/ (student versions) from solutions/")
    rel.add_argument("labs", nargs="*", help="labs to generate (default: all)")
    rel.add_argument("--out", type=course.Path, default=course.NOTEBOOKS, help="destination folder")
    rel.add_argument("--clean", action="store_true", help="remove generated lab folders first")
    rel.set_defaults(func=cmd_release)

    from .grading import DEFAULT_WORKSPACE

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", type=course.Path, default=DEFAULT_WORKSPACE,
                        help="grading folder: nbgrader course root with submitted/, autograded/, feedback/, "
                             "gradebook.db (default: grading/)")
    common.add_argument("--db-url", default=None,
                        help="gradebook database URL (default: sqlite in the workspace; postgresql://... "
                             "to share one between graders)")
    col = sub.add_parser("collect", parents=[common], help="copy the submissions of an LMS export (zip or folder)")
    col.add_argument("path", type=course.Path, help="zip file or folder as exported by Moodle, Canvas, ...")
    col.add_argument("--pattern", action="append",
                     help="regular expression with a group (?P<id>...) that finds the student id in a "
                          "file's path; {labs} stands for the lab names; repeatable; the first path "
                          "segment from the top that matches decides, what lies below it only tells the "
                          "lab (default: Moodle, Canvas, and the plain <id>/<lab>.ipynb, <id>_<lab>.ipynb "
                          "at the top of the export)")
    col.add_argument("--clean", action="store_true", help="empty submitted/ first")
    col.add_argument("--max-notebook-size", metavar="SIZE", default=None,
                     help="largest file of a submission once unpacked, e.g. 50M (default 50M); larger ones "
                          "are reported and skipped")
    col.add_argument("--max-student-size", metavar="SIZE", default=None,
                     help="all files of one student once unpacked (default 200M)")
    col.add_argument("--max-export-size", metavar="SIZE", default=None,
                     help="the whole export once unpacked (default 4G)")
    col.add_argument("--max-depth", metavar="N", type=int, default=None,
                     help="zips inside zips followed at most N levels deep (default 3)")
    col.set_defaults(func=cmd_collect)

    auto = sub.add_parser("autograde", parents=[common], help="grade the collected submissions in a sandbox")
    auto.add_argument("labs", nargs="*", help="labs to grade (default: every lab collected)")
    auto.add_argument("--student", action="append", help="only this student (repeatable)")
    auto.add_argument("--workers", type=int, default=None,
                      help="parallel kernels (default: the CPUs this process may use)")
    auto.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                      help="run every job on this Dask cluster (dask scheduler + dask worker on each lab PC; "
                           "see README) instead of local worker processes")
    auto.add_argument("--timeout", type=int, default=None, help="seconds per cell (default 300)")
    auto.add_argument("--notebook-timeout", type=int, default=None, help="seconds per notebook (default 3600)")
    auto.add_argument("--total-memory", default=None,
                      help="memory of a whole submission, all its processes and files in /tmp, no swap "
                           "(cgroup; default 2G)")
    auto.add_argument("--processes", type=int, default=None,
                      help="processes and threads of a whole submission (default 256)")
    auto.add_argument("--cpus", type=float, default=None,
                      help="CPU quota of a submission in cores (cgroup; default: cores / workers)")
    auto.add_argument("--cpu-time", type=int, default=None, help="CPU seconds per process (default 3600)")
    auto.add_argument("--disk", default=None, help="size of a submission's /tmp and working folder (default 1G)")
    auto.add_argument("--memory", default=None, help="address-space cap per process, e.g. 6G (default)")
    auto.add_argument("--max-output", default=None, help="output kept per cell, e.g. 1M (default)")
    auto.add_argument("--uid-base", type=int, default=None,
                      help="first uid of the sandboxed kernels when run as root (one per worker; default "
                           "$GRADER_UID_BASE or 60000); "
                           "two graders on one machine need ranges that do not overlap")
    auto.add_argument("--force", action="store_true", help="grade again what was graded already")
    auto.add_argument("--unsafe", action="store_true", help="run without the bubblewrap sandbox (trusted code only)")
    auto.add_argument("--quiet", action="store_true", help="no progress bar")
    auto.set_defaults(func=cmd_autograde)

    fb = sub.add_parser("feedback", parents=[common], help="nbgrader's HTML feedback per student and lab")
    fb.add_argument("labs", nargs="*")
    fb.add_argument("--workers", type=int, default=None,
                    help="processes rendering the pages (default: the CPUs this process may use)")
    fb.add_argument("--quiet", action="store_true")
    fb.set_defaults(func=cmd_feedback)

    rep = sub.add_parser("report", parents=[common], help="grades.csv, per-question table, figures")
    rep.add_argument("--out", type=course.Path, default=None, help="folder (default: <workspace>/report)")
    rep.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
