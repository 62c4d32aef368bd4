"""Run context: environment variables and tell-tale files under a fake root."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from envcheck.probes.context import detect_context

Tree = Callable[..., Path]

COLAB_SITE = "usr/local/lib/python3.12/dist-packages/google/colab"


def test_local_when_nothing_says_otherwise(tmp_path: Path) -> None:
    assert detect_context({"PATH": "/usr/bin", "HOME": "/home/me"}, tmp_path) == ("local", ())


def test_colab_from_release_tag(tmp_path: Path) -> None:
    env = {"COLAB_RELEASE_TAG": "release-colab-external_20260819-060048_RC00", "COLAB_GPU": "1"}
    assert detect_context(env, tmp_path) == (
        "colab",
        ("Colab release release-colab-external_20260819-060048_RC00", "GPU runtime"),
    )


def test_colab_cpu_runtime(tmp_path: Path) -> None:
    env = {"COLAB_RELEASE_TAG": "release-colab_20250219-060225_RC01", "COLAB_GPU": "0"}
    assert detect_context(env, tmp_path) == (
        "colab",
        ("Colab release release-colab_20250219-060225_RC01",),
    )


def test_colab_from_files_alone(tree: Tree) -> None:
    # A terminal or subprocess may not inherit COLAB_*; the image itself still tells.
    root = tree(dirs=["content", COLAB_SITE])
    assert detect_context({}, root) == ("colab", ("Colab",))


def test_content_dir_alone_is_not_colab(tree: Tree) -> None:
    assert detect_context({}, tree(dirs=["content"])) == ("local", ())


def test_colab_wins_over_its_container(tree: Tree) -> None:
    root = tree({".dockerenv": ""}, dirs=["content", COLAB_SITE])
    assert detect_context({"COLAB_GPU": "1"}, root) == ("colab", ("Colab", "GPU runtime"))


@pytest.mark.parametrize(
    ("env", "details"),
    [
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, ("Kaggle Interactive",)),
        (
            {"KAGGLE_KERNEL_RUN_TYPE": "Batch", "KAGGLE_URL_BASE": "https://www.kaggle.com"},
            ("Kaggle Batch",),
        ),
        ({"KAGGLE_URL_BASE": "https://www.kaggle.com"}, ("Kaggle",)),
    ],
)
def test_kaggle(tmp_path: Path, env: dict[str, str], details: tuple[str, ...]) -> None:
    assert detect_context(env, tmp_path) == ("kaggle", details)


def test_kaggle_from_working_dir(tree: Tree) -> None:
    assert detect_context({}, tree(dirs=["kaggle/working"])) == ("kaggle", ("Kaggle",))


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"GITHUB_ACTIONS": "true", "CI": "true"}, "GitHub Actions"),
        ({"GITLAB_CI": "true", "CI": "true"}, "GitLab CI"),
        ({"BUILDKITE": "true"}, "Buildkite"),
        ({"JENKINS_URL": "https://ci.example.org/"}, "Jenkins"),
        ({"CIRCLECI": "true"}, "CircleCI"),
        ({"TF_BUILD": "True"}, "Azure Pipelines"),
        ({"CI": "1"}, "CI"),
        ({"CI": "true"}, "CI"),
    ],
)
def test_ci_providers(tmp_path: Path, env: dict[str, str], provider: str) -> None:
    assert detect_context(env, tmp_path) == ("ci", (provider,))


@pytest.mark.parametrize("value", ["false", "0", "", "no"])
def test_ci_flag_switched_off(tmp_path: Path, value: str) -> None:
    assert detect_context({"CI": value, "GITHUB_ACTIONS": value}, tmp_path) == ("local", ())


def test_ci_inside_a_container(tree: Tree) -> None:
    root = tree({".dockerenv": ""})
    assert detect_context({"GITHUB_ACTIONS": "true"}, root) == ("ci", ("GitHub Actions", "docker"))


@pytest.mark.parametrize(
    ("files", "env", "runtime"),
    [
        ({".dockerenv": ""}, {}, "docker"),
        ({"run/.containerenv": 'engine="podman-4.9.3"\n'}, {}, "podman"),
        ({}, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, "kubernetes"),
        ({"proc/1/cgroup": "12:cpuset:/docker/4f2d6c0c1b7e\n0::/\n"}, {}, "docker"),
        ({"proc/1/cgroup": "11:memory:/kubepods/burstable/pod1a2b/3c4d\n"}, {}, "kubernetes"),
        ({"proc/1/cgroup": "0::/init.scope\n"}, {"container": "systemd-nspawn"}, "systemd-nspawn"),
    ],
)
def test_containers(tree: Tree, files: dict[str, str], env: dict[str, str], runtime: str) -> None:
    assert detect_context(env, tree(files)) == ("container", (runtime,))


def test_cgroup_v2_host_is_local(tree: Tree) -> None:
    assert detect_context({}, tree({"proc/1/cgroup": "0::/init.scope\n"})) == ("local", ())


def test_wsl2_is_local_with_a_detail(tree: Tree) -> None:
    version = (
        "Linux version 5.15.146.1-microsoft-standard-WSL2 (root@65c757a075e2) "
        "(gcc (GCC) 11.2.0, GNU ld (GNU Binutils) 2.37) #1 SMP Thu Jan 11 04:09:03 UTC 2024\n"
    )
    assert detect_context({}, tree({"proc/version": version})) == ("local", ("WSL2",))
