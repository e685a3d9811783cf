"""Keep only the ccxt exchanges the image supports, and what they import (run at image build).

ccxt ships ~100 exchange modules (with their bytecode about 30 MB of the image); a daemon
talks to one. The image keeps the spot venues in ``KEEP`` (or those named in
``CCXT_EXCHANGES``; ``all`` keeps every one) plus every exchange a kept one imports (binanceus
is built on binance). `grodt` names the list when asked for another exchange. Run with the
venv's Python: ``python prune_ccxt.py SITE_PACKAGES [IDS|all]``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# The largest spot venues by volume that operators ask for first; each costs about 1-2 MB of
# the image (its module, its API table and their bytecode).
KEEP = "binance binanceus coinbase kraken bybit okx"
_IMPORT = re.compile(r"^from ccxt\.(\w+) import", re.MULTILINE)


def kept_with_dependencies(root: Path, wanted: set[str]) -> set[str]:
    kept: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name in kept or not (root / f"{name}.py").is_file():
            continue
        kept.add(name)
        todo += [dep for dep in _IMPORT.findall((root / f"{name}.py").read_text()) if dep != name]
    return kept


def main() -> int:
    root = Path(sys.argv[1]) / "ccxt"
    choice = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else KEEP
    if choice.strip() == "all":
        return 0
    wanted = set(choice.replace(",", " ").split())
    unknown = sorted(name for name in wanted if not (root / f"{name}.py").is_file())
    if unknown:
        print(f"prune_ccxt: not ccxt exchanges: {', '.join(unknown)}", file=sys.stderr)
        return 2
    kept = kept_with_dependencies(root, wanted)
    removed = 0
    for module in root.glob("*.py"):
        name = module.stem
        if name.startswith("_") or name in kept:
            continue
        if (root / "abstract" / f"{name}.py").is_file() or _IMPORT.search(module.read_text()):
            for directory in (root, root / "abstract"):
                (directory / f"{name}.py").unlink(missing_ok=True)
                # pip byte-compiled everything at install: the bytecode must go too.
                for compiled in (directory / "__pycache__").glob(f"{name}.*.pyc"):
                    compiled.unlink()
            removed += 1
    # The package's own index, which the daemon never runs (it loads one exchange), lists
    # every exchange: tell it which are here.
    (root / "EXCHANGES_IN_IMAGE").write_text("\n".join(sorted(kept)) + "\n")
    print(f"prune_ccxt: kept {len(kept)} exchanges, removed {removed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
