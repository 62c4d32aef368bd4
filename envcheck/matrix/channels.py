"""Channel: a second source of distributions for the upstream import names (matrices/channels.toml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from envcheck.matrix.records import BuildDuration, _frozen, _version_or_none

_CHANNEL_KEYS = frozenset(
    ["description", "replaces", "wheel_index", "glibc_min", "source", "build", "dist", "upstream_on_channel", "wheels"]
)
_DIST_KEYS = frozenset(
    [
        "module",
        "stands_for",
        "versions",
        "python",
        "files",
        "guards",
        "needs_ops",
        "needs_torchvision",
        "weights_only_safe",
        "pkg_resources_at_runtime",
        "requires",
        "opencv_pair",
        "notes",
        "source",
    ]
)
_BUILD_KEYS = frozenset(["preinstall", "pip_args", "cxx", "notes", "source", "durations"])
_WHEEL_KEYS = frozenset(["folder", "torch", "tag", "python", "mmcv"])
_DURATION_KEYS = frozenset(["mmcv", "torch", "cuda", "cores", "seconds", "peak_rss_mib", "source"])


@dataclass(frozen=True)
class ChannelDist:
    name: str  # onedl-mmdetection
    module: str  # mmdet
    stands_for: str  # mmdet: the upstream distribution it replaces in a plan
    versions: tuple[str, ...]  # oldest first
    python: str
    files: str  # sdist | wheel
    guards: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # module -> [">=2.0.0", "<2.4.0"]
    needs_ops: bool = False
    needs_torchvision: bool = False
    weights_only_safe: bool = False
    pkg_resources_at_runtime: bool = False
    requires: tuple[str, ...] = ()
    opencv_pair: bool = False
    notes: tuple[str, ...] = ()
    source: str = ""

    @property
    def newest(self) -> str:
        return self.versions[-1]

    def allows(self, module: str, version: str) -> bool:
        """Whether this distribution's import-time guard on `module` passes for `version`."""
        spec = self.guards.get(module)
        if not spec:
            return True
        try:
            return Version(version) in SpecifierSet(",".join(spec), prereleases=True)
        except InvalidSpecifier:  # pragma: no cover - validated on load
            return False


@dataclass(frozen=True)
class ChannelWheels:
    folder: str  # cpu-torch280
    torch: str  # 2.8
    tag: str  # cpu | cu128
    python: tuple[str, ...]  # cp310, cp312
    mmcv: str  # the onedl-mmcv versions in that folder (a specifier)

    def holds(self, version: str) -> bool:
        return Version(version) in SpecifierSet(self.mmcv, prereleases=True)


@dataclass(frozen=True)
class ChannelBuild:
    preinstall: tuple[str, ...]
    pip_args: tuple[str, ...]
    cxx: str
    durations: tuple[BuildDuration, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Channel:
    name: str
    description: str
    replaces: tuple[str, ...]  # upstream distributions owning the same import directories
    wheel_index: str  # {folder}
    glibc_min: str
    build: ChannelBuild
    dists: Mapping[str, ChannelDist]  # by PyPI name
    wheels: tuple[ChannelWheels, ...]
    upstream_on_channel: tuple[tuple[str, str], ...]  # (upstream dist, version) measured to import here
    source: str = ""

    def dist_of(self, module_or_upstream: str) -> ChannelDist | None:
        """The channel's distribution for an upstream name (mmdet, mmsegmentation) or an import name."""
        return next((d for d in self.dists.values() if module_or_upstream in (d.stands_for, d.module, d.name)), None)

    def wheel_folder(self, mmcv: str, torch_minor: str, tag: str, py_tag: str | None) -> ChannelWheels | None:
        for w in self.wheels:
            if w.torch == torch_minor and w.tag == tag and py_tag in w.python and w.holds(mmcv):
                return w
        return None

    def upstream_ok(self, dist: str, version: str) -> bool:
        return (dist, version) in self.upstream_on_channel


def parse_channels(problems: list[str], data: dict[str, Any]) -> dict[str, Channel]:
    """matrices/channels.toml → {name: Channel}; every problem appended to `problems`."""
    from envcheck.matrix.load import _Reader  # one reader type for every file (cyclic at import time)

    out: dict[str, Channel] = {}
    raw = data.get("channel", {})
    if not isinstance(raw, dict):
        problems.append("channels.toml: channel: expected a table")
        return out
    for name, body in raw.items():
        r = _Reader(problems, "channels.toml", f"channel.{name}", body, _CHANNEL_KEYS)
        dists: dict[str, ChannelDist] = {}
        for dname, draw in r.table("dist", required=True).items():
            d = _Reader(problems, "channels.toml", f"channel.{name}.dist.{dname}", draw, _DIST_KEYS)
            versions = d.texts("versions", required=True)
            for v in versions:
                d.version("versions", v)
            if all(_version_or_none(a) is not None for a in versions) and list(versions) != sorted(
                versions, key=Version
            ):
                d.bad("versions: not oldest first")
            guards: dict[str, tuple[str, ...]] = {}
            for module, spec in d.table("guards").items():
                texts = tuple(spec) if isinstance(spec, list) else ()
                d.spec(f"guards.{module}", ",".join(texts)) if texts else d.bad(f"guards.{module}: expected a list")
                guards[str(module)] = tuple(str(t) for t in texts)
            dists[dname] = ChannelDist(
                name=dname,
                module=d.text("module"),
                stands_for=d.text("stands_for"),
                versions=versions,
                python=d.spec("python") or "",
                files=d.choice("files", ("sdist", "wheel"), "sdist"),
                guards=_frozen(guards),
                needs_ops=d.flag("needs_ops"),
                needs_torchvision=d.flag("needs_torchvision"),
                weights_only_safe=d.flag("weights_only_safe"),
                pkg_resources_at_runtime=d.flag("pkg_resources_at_runtime"),
                requires=d.texts("requires"),
                opencv_pair=d.flag("opencv_pair"),
                notes=d.texts("notes"),
                source=d.source(),
            )
        b = _Reader(problems, "channels.toml", f"channel.{name}.build", r.table("build", required=True), _BUILD_KEYS)
        durations = []
        for i, draw in enumerate(b.raw.get("durations", [])):
            dr = _Reader(problems, "channels.toml", f"channel.{name}.build.durations[{i}]", draw, _DURATION_KEYS)
            durations.append(
                BuildDuration(
                    dr.version("mmcv"), dr.version("torch"), dr.flag("cuda", required=True), dr.integer("cores"),
                    dr.integer("seconds"), dr.source(),
                )
            )  # fmt: skip
        b.source()
        build = ChannelBuild(
            b.texts("preinstall"), b.texts("pip_args"), b.text("cxx"), tuple(durations), b.texts("notes")
        )
        wheels = []
        for i, wraw in enumerate(body.get("wheels", []) if isinstance(body, dict) else []):
            w = _Reader(problems, "channels.toml", f"channel.{name}.wheels[{i}]", wraw, _WHEEL_KEYS)
            wheels.append(
                ChannelWheels(
                    w.text("folder"), w.text("torch"), w.text("tag"), w.texts("python", True), w.spec("mmcv") or ""
                )
            )
        upstream = []
        u = _Reader(
            problems, "channels.toml", f"channel.{name}.upstream_on_channel", r.table("upstream_on_channel"),
            frozenset({"releases", "source"}),
        )  # fmt: skip
        for text in u.texts("releases"):
            dist, sep, version = text.partition("==")
            if not sep or _version_or_none(version) is None:
                u.bad(f"releases: {text!r} is not dist==version")
            upstream.append((dist, version))
        if upstream:
            u.source()
        ch = Channel(
            name=name,
            description=r.text("description"),
            replaces=r.texts("replaces", required=True),
            wheel_index=r.text("wheel_index"),
            glibc_min=r.version("glibc_min"),
            build=build,
            dists=_frozen(dists),
            wheels=tuple(wheels),
            upstream_on_channel=tuple(upstream),
            source=r.source(),
        )
        if "{folder}" not in ch.wheel_index:
            r.bad("wheel_index: must contain {folder}")
        if ch.dist_of("mmcv") is None or ch.dist_of("mmengine") is None:
            r.bad("a channel provides mmcv and mmengine (dist with stands_for = mmcv / mmengine)")
        for row in ch.wheels:
            if row.tag != "cpu" and not (row.tag.startswith("cu") and row.tag[2:].isdigit()):
                r.bad(f"wheels {row.folder}: tag {row.tag!r} is not cpu or cuXYZ")
        out[name] = ch
    return out


def check_channels(problems: list[str], channels: Mapping[str, Channel], toolkits: Mapping[str, Any]) -> None:
    """Cross-file check: every upstream release said to run on a channel is a known release."""
    for ch in channels.values():
        for dist, version in ch.upstream_on_channel:
            if version not in toolkits.get(dist, {}):
                problems.append(
                    f"channels.toml: channel.{ch.name}.upstream_on_channel: {dist}=={version} is not in toolkits.toml"
                )
