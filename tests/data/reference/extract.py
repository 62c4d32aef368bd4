"""Regenerate the trimmed reference copies from the full files (kept out of the repo).

    python tests/data/reference/extract.py /work/shared/reference

Only the fields tests/test_matrix_reference.py compares are kept, verbatim.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RELEASE_FIELDS = (
    "tag", "pypi_name", "import_name", "released", "import_guards", "max_bound_exclusive",
    "pep440", "exec_check", "needs_compiled_mmcv_ops_at_import", "needs_mmdet_at_import", "source",
)  # fmt: skip
WHEEL_FIELDS = ("package", "tag_date", "builds_by_platform", "builds_high_confidence", "source")
MMENGINE_FIELDS = (
    "version", "date", "python_requires", "runtime_uses_pkg_resources",
    "checkpoint_torch_load_weights_only_false", "mmengine_lite_package",
)  # fmt: skip


def main(reference: Path) -> None:
    here = Path(__file__).parent
    upstream = reference / "upstream"
    constraints = json.loads((upstream / "constraints.json").read_text())
    meta = constraints["_meta"]
    out: dict[str, object] = {
        "_meta": {
            "latest_releases_import_guard_summary": meta["latest_releases_import_guard_summary"],
            "known_quirks": meta["known_quirks"],
        }
    }
    for family, releases in constraints.items():
        if family != "_meta":
            out[family] = {v: {k: r[k] for k in RELEASE_FIELDS if k in r} for v, r in releases.items()}
    (here / "constraints.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")

    wheels = json.loads((upstream / "wheel_matrix.json").read_text())
    trimmed: dict[str, object] = {
        "verification_of_claims": wheels["verification_of_claims"],
        "mmcv-lite": wheels["mmcv-lite"],
    }
    for package in ("mmcv", "mmcv-full"):
        trimmed[package] = {
            v: {k: r.get(k) for k in WHEEL_FIELDS}
            for v, r in wheels[package].items()
            if package == "mmcv" or v.startswith("1.7.")
        }
    (here / "wheel_matrix.json").write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n")

    mmengine = json.loads((upstream / "mmengine.json").read_text())
    versions = {tag: {k: r[k] for k in MMENGINE_FIELDS} for tag, r in mmengine["versions"].items() if tag != "main"}
    (here / "mmengine.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/reference"))
