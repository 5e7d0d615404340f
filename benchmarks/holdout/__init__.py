"""A hold-out company generator for the detection benchmark, written independently of the
project's simulator (insiderwatch_sim) and of detection: only the data contract and the
benchmark's scoring interface were read. Its companies are never used to tune detection.

    from holdout import HoldoutConfig, generate, write_dataset
    truth = write_dataset(generate(HoldoutConfig(employees=600, days=30, seed=5)), path)
"""

from holdout.company import Company, HoldoutConfig, generate
from holdout.insiders import SCENARIOS
from holdout.styles import STYLES
from holdout.write import write_dataset, write_truth

__all__ = [
    "SCENARIOS", "STYLES", "Company", "HoldoutConfig", "generate", "write_dataset", "write_truth",
]  # fmt: skip
