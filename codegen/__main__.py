"""``python -m codegen generate`` | ``python -m codegen check``."""

from __future__ import annotations

import sys

from .generate import check, generate


def main(argv: list[str]) -> int:
    """Run one codegen command."""
    if argv == ["generate"]:
        generate()
        return 0
    if argv == ["check"]:
        return check()
    print("usage: python -m codegen generate|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
