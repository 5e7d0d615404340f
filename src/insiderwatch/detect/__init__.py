"""Detection: explain every access, flag the rest, score each employee, raise alerts."""

from insiderwatch.detect.config import DetectionConfig, load_detection_config
from insiderwatch.detect.engine import DetectionRun, active_detectors, run_detection

__all__ = [
    "DetectionConfig",
    "DetectionRun",
    "active_detectors",
    "load_detection_config",
    "run_detection",
]
