"""A clean virtual environment registered as a Jupyter kernel: where a notebook runs as a learner's would.

    a Python + a list of packages -> FOLDER/venv, and a kernel named NAME that nbclient finds on JUPYTER_PATH

Used by the Colab-runtime test (tests/test_colab.py) and the canary (tools/canary.py), which also find their
Python with installed_pythons; kernel_config, the
transport of every kernel the build and the canary start, by tools/execute.py too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path


def kernel_config(folder: str):
    """The kernel's transport: Unix sockets in `folder` where the system has them.

    Over TCP (jupyter_client's default) ipykernel 7 warns at every start that its traffic is not encrypted, and each
    lecture's execution printed that into the build log. The kernel and its client are on one machine, so a local
    socket is the right transport, and the warning's cause is gone rather than filtered.
    """
    from traitlets.config import Config

    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(Path(folder, "kernel"))   # the sockets: kernel-PORT, removed with the folder
    return config


def installed_pythons(env_var: str = "") -> dict[tuple[int, int, int], str]:
    """The Pythons on this machine, by version: the one named by $ENV_VAR if that is set (then only it), else
    python3.N on PATH and pyenv's versions. Used to find Colab's Python (tests/test_colab.py) and the newest one
    (tools/canary.py)."""
    if env_var and os.environ.get(env_var):
        candidates = [os.environ[env_var]]
    else:
        candidates = [shutil.which(f"python3.{minor}") for minor in range(8, 30)]
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
            candidates += sorted(map(str, Path(root, "versions").glob("3.*/bin/python")))
        except (OSError, subprocess.CalledProcessError):
            pass
    found: dict[tuple[int, int, int], str] = {}
    for candidate in filter(None, candidates):
        out = subprocess.run([candidate, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True,
                             text=True).stdout.split()
        if len(out) == 3:
            found.setdefault(tuple(map(int, out)), candidate)
    return found


def make_kernel_venv(folder: Path, base_python: str, packages: list[str], name: str) -> Path:
    """Create FOLDER/venv from `base_python`, pip-install `packages` (pip's arguments: names, pins, -c FILE),
    and register it as the kernel `name` in FOLDER/jupyter (see `kernel_path`). Returns the venv's python."""
    if folder.exists():
        shutil.rmtree(folder)
    venv = folder / "venv"
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(folder / "prefix"),
                    "--name", name, "--display-name", name], check=True, capture_output=True)
    kernels = folder / "jupyter" / "kernels"
    kernels.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder / "prefix" / "share" / "jupyter" / "kernels", kernels)
    return python


@contextlib.contextmanager
def kernel_path(folder: Path):
    """While the block runs, nbclient finds the kernels registered in FOLDER/jupyter by make_kernel_venv."""
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(folder / "jupyter") + (os.pathsep + old if old else "")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old


def versions(python: Path, packages: list[str]) -> dict[str, str]:
    """The installed version of each package in the venv of `python` ("-" where it is not installed), and Python's."""
    code = ("import sys, json\nfrom importlib.metadata import version, PackageNotFoundError\n"
            "out = {'python': sys.version.split()[0]}\n"
            "for name in sys.argv[1:]:\n"
            "    try: out[name] = version(name)\n"
            "    except PackageNotFoundError: out[name] = '-'\n"
            "print(json.dumps(out))")
    import json

    return json.loads(subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True,
                                     check=True).stdout)
