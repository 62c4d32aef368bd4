"""The run context: Colab, Kaggle, CI, a container, or a local machine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# (variable, provider) in the order a machine is most specifically described by.
_CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "GitHub Actions"),
    ("GITLAB_CI", "GitLab CI"),
    ("BUILDKITE", "Buildkite"),
    ("CIRCLECI", "CircleCI"),
    ("TF_BUILD", "Azure Pipelines"),
    ("JENKINS_URL", "Jenkins"),
    ("TRAVIS", "Travis CI"),
)
_FALSE = {"", "0", "false", "no", "off"}
# Substrings of /proc/1/cgroup (cgroup v1 paths) that name a container runtime.
_CGROUP_HINTS = (
    ("kubepods", "kubernetes"),
    ("docker", "docker"),
    ("containerd", "containerd"),
    ("libpod", "podman"),
    ("lxc", "lxc"),
)


def _set(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() not in _FALSE


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _colab(environ: Mapping[str, str], root: Path) -> tuple[str, ...] | None:
    tag = environ.get("COLAB_RELEASE_TAG", "")
    env_hint = tag or any(k.startswith("COLAB_") for k in environ)
    # The image keeps google.colab in the system site-packages and the notebook cwd at /content.
    tree_hint = (root / "content").is_dir() and any(
        (root / "usr/local/lib").glob("python3*/dist-packages/google/colab")
    )
    if not (env_hint or tree_hint):
        return None
    details = [f"Colab release {tag}" if tag else "Colab"]
    if environ.get("COLAB_GPU", "").strip() not in ("", "0"):
        details.append("GPU runtime")
    if environ.get("COLAB_TPU_ADDR"):
        details.append("TPU runtime")
    return tuple(details)


def _kaggle(environ: Mapping[str, str], root: Path) -> tuple[str, ...] | None:
    run_type = environ.get("KAGGLE_KERNEL_RUN_TYPE", "")
    if not (run_type or environ.get("KAGGLE_URL_BASE") or (root / "kaggle/working").is_dir()):
        return None
    return (f"Kaggle {run_type}".strip(),)


def _container(environ: Mapping[str, str], root: Path) -> str | None:
    if (root / ".dockerenv").exists():
        return "docker"
    if (root / "run/.containerenv").exists():
        return "podman"
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    cgroup = _read(root / "proc/1/cgroup")
    for hint, runtime in _CGROUP_HINTS:
        if hint in cgroup:
            return runtime
    # systemd-nspawn, podman and LXC export $container to PID 1 (and often to shells).
    return environ.get("container") or None


def _wsl(root: Path) -> str | None:
    version = _read(root / "proc/version").lower()
    if "microsoft" not in version:
        return None
    return "WSL2" if "wsl2" in version or (root / "usr/lib/wsl").is_dir() else "WSL"


def detect_context(environ: Mapping[str, str], root: Path = Path("/")) -> tuple[str, tuple[str, ...]]:
    """(colab | kaggle | ci | container | local, short details such as "GitHub Actions")."""
    colab = _colab(environ, root)
    if colab is not None:
        return "colab", colab
    kaggle = _kaggle(environ, root)
    if kaggle is not None:
        return "kaggle", kaggle
    container = _container(environ, root)
    extra = (container,) if container else ()
    for variable, provider in _CI_PROVIDERS:
        if _set(environ, variable):
            return "ci", (provider, *extra)
    if _set(environ, "CI"):  # the generic flag most CI systems also set
        return "ci", ("CI", *extra)
    if container:
        return "container", (container,)
    wsl = _wsl(root)
    return "local", (wsl,) if wsl else ()
