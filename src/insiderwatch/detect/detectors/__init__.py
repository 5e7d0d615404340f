"""Built-in detectors, one module each; registered as entry points in pyproject.toml."""
