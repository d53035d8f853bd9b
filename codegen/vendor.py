"""Copy the SDK into another tree under another name: ``python -m codegen.vendor DEST NAME``.

The package needs no rewriting to be vendored: every import inside it is relative, it reads no
distribution metadata (the version is a literal in ``_version.py``), and its package data (the
specs the fake validates against) is found relative to the package itself. So vendoring is a
copy of ``klaviyo_campaigns/`` to ``DEST/NAME``, without byte-code caches.

A previous vendored copy at ``DEST/NAME`` is replaced (that is how a vendored copy is updated);
any other existing folder there is left alone and the command fails.
"""

from __future__ import annotations

import argparse
import keyword
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "klaviyo_campaigns"

#: Files that mark a folder as a vendored copy of this package (safe to replace).
_MARKERS = ("_version.py", "_generated/operations.py")
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".ruff_cache")


class VendorError(Exception):
    """The copy cannot be made where or under the name asked for."""


def vendor(dest: Path, name: str, *, package: Path = PACKAGE) -> Path:
    """Copy ``package`` to ``dest/name`` and return the new package folder."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise VendorError(f"{name!r} is not a valid Python package name")
    target = dest / name
    if target.exists() and not all((target / marker).is_file() for marker in _MARKERS):
        raise VendorError(
            f"{target} exists and is not a vendored copy of {package.name}; "
            "remove it or choose another name"
        )
    dest.mkdir(parents=True, exist_ok=True)
    # Copy beside the target, then swap: an interrupted run never leaves half a package.
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=dest) as tmp:
        staged = Path(tmp) / name
        shutil.copytree(package, staged, ignore=_SKIP)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m codegen.vendor DEST NAME``."""
    parser = argparse.ArgumentParser(
        prog="python -m codegen.vendor",
        description="Copy klaviyo_campaigns into DEST/NAME; import it as NAME.",
    )
    parser.add_argument("dest", type=Path, help="folder that will hold the package")
    parser.add_argument("name", help="import name of the copy, e.g. acme_klaviyo")
    args = parser.parse_args(argv)
    try:
        target = vendor(args.dest, args.name)
    except VendorError as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 1
    print(f"vendored {PACKAGE.name} as {args.name} into {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
