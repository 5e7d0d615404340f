"""Export: our outputs in other systems' formats (OCSF for security data lakes)."""
