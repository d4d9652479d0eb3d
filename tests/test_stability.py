"""scripts/stability.py: its seed override works, and its summary can report a failing check."""
import importlib.util
import json
import sys

import labkit
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("stability", ROOT / "scripts" / "stability.py")
stability = importlib.util.module_from_spec(_spec)
sys.modules["stability"] = stability
_spec.loader.exec_module(stability)


def test_every_lab_with_a_mistake_suite_has_a_checks_entry():
    from mistakes import all_variants

    assert set(stability.CHECKS) <= set(all_variants())
    # labs 4-6 are added by the labs-b branch (one CHECKS entry each)


def test_margin_direction():
    above = stability.Check("c_tests", "x", "x", ">", 0.8)
    below = stability.Check("c_tests", "y", "y", "<", 0.25)
    assert round(above.margin(0.9), 6) == 0.1 and above.margin(0.7) < 0
    assert round(below.margin(0.1), 6) == 0.15 and below.margin(0.3) < 0


def test_summary_reports_the_worst_run_and_a_failure(tmp_path, monkeypatch):
    check = stability.Check("c_tests", "acc", "acc", ">", 0.8)
    monkeypatch.setattr(stability, "CHECKS", {"labX": [check]})
    runs = [{"seed_offset": s, "threads": 1, "seconds": 1.0, "values": {"acc": v}, "problems": p, "variants": 2}
            for s, v, p in [(0, 0.9, []), (1, 0.79, []), (2, "error: NameError: acc", ["m (q): a mistake is accepted"])]]
    path = stability.lab_file("labX", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"lab": "labX", "runs": runs}))
    row = stability.write_report(tmp_path)["labX"]
    assert row["checks"][0]["worst"] == 0.79 and row["checks"][0]["margin"] < 0 and row["checks"][0]["runs"] == 2
    assert row["checks"][0]["errors"] == ["error: NameError: acc"]
    assert row["mistake_suite"]["runs_with_problems"] == 1
    assert "| labX | acc (`c_tests`) | > 0.8 | 0.7900 | -0.0100 | 2 (1 errors) |" in (tmp_path / "STABILITY.md").read_text()


def test_seed_offset_and_threads_reach_the_kernel():
    kernel = labkit.Kernel("cnn-course", ROOT, labkit.thread_env(1))
    try:
        probe = ("import keras, numpy as np, tensorflow as tf\n"
                 "keras.utils.set_random_seed({seed}); a = float(np.random.rand())\n")
        status, _, _ = kernel.run(labkit.startup_code(seed_offset=3, threads=1))
        assert status == "ok"
        status, _, out = kernel.run(probe.format(seed=2) + "print(a, tf.config.threading.get_intra_op_parallelism_threads())")
        assert status == "ok", out
        shifted, threads = out.split()
        status, _, out = kernel.run("_lk_set_random_seed(5); print(float(np.random.rand()))")
        assert status == "ok", out
        assert float(shifted) == float(out) and int(threads) == 1
        status, _, out = kernel.run("_lk_set_random_seed(2); print(float(np.random.rand()))")
        assert float(out) != float(shifted)
    finally:
        kernel.shutdown()
