"""``python -m codegen generate`` | ``python -m codegen check``."""

from __future__ import annotations

import sys

from .fixups import FixupError
from .generate import GenerationError, check, generate
from .overlay import OverlayError


def main(argv: list[str]) -> int:
    """Run one codegen command; a spec or overlay it cannot take fails with one line, no write."""
    try:
        if argv == ["generate"]:
            generate()
            return 0
        if argv == ["check"]:
            return check()
    except (GenerationError, OverlayError, FixupError) as exc:
        print(f"codegen: {exc}", file=sys.stderr)
        return 1
    print("usage: python -m codegen generate|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
