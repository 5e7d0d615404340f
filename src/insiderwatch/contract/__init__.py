"""The interchange contract: typed records, their column specs and JSON Schema."""

from insiderwatch.contract.records import (
    ACTIONS,
    CONTRACT_VERSION,
    FIELD_CATEGORIES,
    SEVERITIES,
    AccessEvent,
    Alert,
    Canary,
    Case,
    Customer,
    Employee,
    Order,
    Record,
    Suspect,
    SuspectReport,
)
from insiderwatch.contract.tables import (
    LOAD_ORDER,
    TABLES,
    ColumnSpec,
    TableSpec,
    table_spec,
    to_arrow,
)

__all__ = [
    "ACTIONS",
    "CONTRACT_VERSION",
    "FIELD_CATEGORIES",
    "LOAD_ORDER",
    "SEVERITIES",
    "TABLES",
    "AccessEvent",
    "Alert",
    "Canary",
    "Case",
    "ColumnSpec",
    "Customer",
    "Employee",
    "Order",
    "Record",
    "Suspect",
    "SuspectReport",
    "TableSpec",
    "table_spec",
    "to_arrow",
]
