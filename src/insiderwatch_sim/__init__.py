"""Simulate a company's staff, customers and a month of access to customer data.

The output follows the interchange contract (:mod:`insiderwatch.contract`) and comes with
a ground truth of who the insiders are and which events were malicious. Used by the demo,
the tests and the detection benchmarks.

    company = simulate(SimulationConfig(employees=2000, days=30, seed=7, profile="eu-telco"))
    write_dataset(company, Path("data/demo/dataset"), fmt="parquet")
    write_truth(company, Path("data/demo/truth.json"))
"""

from insiderwatch_sim.config import Company, SimulationConfig, TextOnlyRows
from insiderwatch_sim.core import simulate
from insiderwatch_sim.insiders import SCENARIOS
from insiderwatch_sim.profiles import PROFILES, RULE_AWARE_SCENARIOS, Profile
from insiderwatch_sim.writer import FORMATS, write_dataset, write_truth

__all__ = [
    "FORMATS",
    "PROFILES",
    "RULE_AWARE_SCENARIOS",
    "SCENARIOS",
    "Company",
    "Profile",
    "SimulationConfig",
    "TextOnlyRows",
    "simulate",
    "write_dataset",
    "write_truth",
]
