"""python benchmarks/holdout --out DIR [--employees N] [--days D] [--seed S] [--style NAME]

Writes DIR/dataset (for `insiderwatch analyze` or `ingest`) and DIR/truth.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from holdout import STYLES, HoldoutConfig, generate, write_dataset, write_truth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--employees", type=int, default=600)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--style", choices=sorted(STYLES), default="marketplace")
    parser.add_argument("--insiders", type=int)
    args = parser.parse_args()
    began = time.perf_counter()
    cfg = HoldoutConfig(args.employees, args.days, args.seed, args.style, args.insiders)
    truth = write_dataset(generate(cfg), args.out / "dataset")
    write_truth(truth, args.out / "truth.json")
    print(f"{cfg.style}: {truth['events']:,} events, {len(truth['insiders'])} insiders, "
          f"in {time.perf_counter() - began:.1f} s -> {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
