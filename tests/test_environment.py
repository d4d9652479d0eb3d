"""environment.yml (conda) and requirements.txt (pip) must describe the same environment."""
import re

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from conftest import ROOT

CONDA_ONLY = {"python", "pip", "graphviz"}  # not pip packages, or system libraries


def pip_requirements(text: str) -> dict[str, SpecifierSet]:
    reqs = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            r = Requirement(line)
            reqs[canonicalize_name(r.name)] = r.specifier
    return reqs


def conda_requirements(text: str) -> dict[str, SpecifierSet]:
    """Parse the dependency list of environment.yml (conda `name=ver` and its pip: block)."""
    reqs = {}
    in_pip = in_deps = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if re.match(r"^\S", line):  # a top-level key: name, channels, dependencies
            in_deps = line.startswith("dependencies:")
            continue
        if not in_deps:
            continue
        m = re.match(r"^(\s*)-\s+(.+)$", line)
        if re.match(r"^\s*-\s+pip:\s*$", line):
            in_pip = True
            continue
        if not m:
            continue
        indent, spec = len(m.group(1)), m.group(2).strip()
        if in_pip and indent > 4:
            r = Requirement(spec)
            reqs[canonicalize_name(r.name)] = r.specifier
            continue
        in_pip = False
        name, _, version = spec.partition("=")
        version = version.lstrip("=")
        if canonicalize_name(name) in CONDA_ONLY:
            continue
        reqs[canonicalize_name(name)] = SpecifierSet(f"=={version}") if version else SpecifierSet()
    return reqs


def compare(pip: dict, conda: dict) -> list[str]:
    problems = []
    for name in sorted(set(pip) | set(conda)):
        if name not in conda:
            problems.append(f"{name}: in requirements.txt, missing from environment.yml")
        elif name not in pip:
            problems.append(f"{name}: in environment.yml, missing from requirements.txt")
        else:
            pinned = [s.version for s in conda[name] if s.operator == "=="]
            if pinned and not all(pip[name].contains(v, prereleases=True) for v in pinned):
                problems.append(f"{name}: environment.yml pins {pinned[0]}, requirements.txt says {pip[name]}")
            pinned = [s.version for s in pip[name] if s.operator == "=="]
            if pinned and not all(conda[name].contains(v, prereleases=True) for v in pinned):
                problems.append(f"{name}: requirements.txt pins {pinned[0]}, environment.yml says {conda[name]}")
    return problems


def test_environment_yml_matches_requirements():
    pip = pip_requirements((ROOT / "requirements.txt").read_text())
    conda = conda_requirements((ROOT / "environment.yml").read_text())
    assert len(pip) >= 15 and len(conda) >= 15
    assert compare(pip, conda) == []


def test_comparison_catches_a_disagreement():
    pip = pip_requirements("numpy==2.4.6\nkeras==3.15.1\n")
    conda = conda_requirements("dependencies:\n  - numpy=1.26.4\n  - pip:\n      - keras==3.15.1\n")
    assert compare(pip, conda) == ["numpy: environment.yml pins 1.26.4, requirements.txt says ==2.4.6",
                                   "numpy: requirements.txt pins 2.4.6, environment.yml says ==1.26.4"]
    conda = conda_requirements("dependencies:\n  - pip:\n      - keras==3.15.1\n")
    assert compare(pip, conda) == ["numpy: in requirements.txt, missing from environment.yml"]


def test_requirements_pin_every_package():
    pip = pip_requirements((ROOT / "requirements.txt").read_text())
    unpinned = [name for name, spec in pip.items() if not any(s.operator == "==" for s in spec)]
    assert unpinned == []
    for needed in ["tensorflow-cpu", "keras", "nbgrader", "nbval", "jupyterlab", "mlxtend",
                   "pandas", "scikit-learn", "seaborn", "matplotlib"]:
        assert needed in pip


def test_installed_versions_match_requirements():
    """The running environment is the one requirements.txt describes."""
    from importlib.metadata import version

    from importlib.metadata import PackageNotFoundError

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            if name == "tensorflow-cpu":   # a CUDA machine has tensorflow[and-cuda] instead (Makefile)
                return version("tensorflow")
            raise

    pip = pip_requirements((ROOT / "requirements.txt").read_text())
    wrong = {n: installed(n) for n, spec in pip.items() if not spec.contains(installed(n), prereleases=True)}
    assert wrong == {}


def test_gpu_machine_gets_the_cuda_build_of_the_same_tensorflow(tmp_path):
    """With GPU=1 (what the Makefile sets when nvidia-smi lists a GPU) the install uses
    requirements-gpu.txt: tensorflow[and-cuda] at the pinned version, every other line unchanged."""
    import subprocess

    venv = tmp_path / "venv"
    subprocess.run(["make", "-s", f"VENV={venv}", f"{venv}/requirements-gpu.txt"], cwd=ROOT, check=True)
    cpu = (ROOT / "requirements.txt").read_text().splitlines()
    gpu = (venv / "requirements-gpu.txt").read_text().splitlines()
    changed = [(a, b) for a, b in zip(cpu, gpu) if a != b]
    pinned = str(pip_requirements("\n".join(cpu))["tensorflow-cpu"])
    assert len(cpu) == len(gpu) and changed == [(f"tensorflow-cpu{pinned}", f"tensorflow[and-cuda]{pinned}")]
    plan = lambda gpu_flag: subprocess.run(  # noqa: E731
        ["make", "-n", "-B", f"VENV={venv}", f"GPU={gpu_flag}", f"{venv}/.installed"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert f"-r {venv}/requirements-gpu.txt" in plan("1")
    assert "-r requirements.txt" in plan("") and "requirements-gpu" not in plan("")


def test_second_install_does_nothing():
    """After `make install` (which `make test` runs first), the environment is up to date:
    `make -q install` reports nothing to rebuild, so a second `make lab`/`make test` reinstalls nothing."""
    import subprocess
    import sys

    result = subprocess.run(["make", "-q", "install", f"VENV={sys.prefix}"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "make would reinstall: " + (result.stdout + result.stderr)
