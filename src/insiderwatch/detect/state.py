"""Tables the detection engine keeps in the store, so a later run continues where the
last one stopped and a replay of history ends in the same state as running live."""

from __future__ import annotations

import re

DETECT_DDL = (
    # Which explanation made each access legitimate; NULL when none did.
    """CREATE TABLE IF NOT EXISTS access_explained (
  event_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  employee_id VARCHAR NOT NULL,
  role VARCHAR,
  explanation VARCHAR
)""",
    # The explanations of the last, partial day's step rows (lookback rows included, as that
    # day's step explains them) at the end of its latest step (store_meta
    # 'detect_explained_until'): the next step of the day explains only what is new.
    """CREATE TABLE IF NOT EXISTS step_explained (
  event_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  explanation VARCHAR
)""",
    # And the case reason of each (event, customer) of those that has one.
    """CREATE TABLE IF NOT EXISTS step_touch_explained (
  event_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  customer_id VARCHAR NOT NULL,
  reason VARCHAR NOT NULL
)""",
    # One row per employee and day with activity: the baselines are built from these.
    """CREATE TABLE IF NOT EXISTS employee_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  role VARCHAR,
  team VARCHAR,
  peer_group VARCHAR,
  events BIGINT,
  data_events BIGINT,
  unexplained_events BIGINT,
  unexplained_customers BIGINT,
  -- Of them, those an unexplained view or search opened (what departing's line counts).
  unexplained_lookup_customers BIGINT,
  unexplained_weight DOUBLE,
  unexplained_vip BIGINT,
  unexplained_contact BIGINT,
  outbound_records BIGINT,
  first_time TIMESTAMPTZ,
  last_time TIMESTAMPTZ,
  PRIMARY KEY (employee_id, day)
)""",
    # Each employee's flows per day (app, action, destination): what routine is learned from.
    """CREATE TABLE IF NOT EXISTS routine_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  peer_group VARCHAR,
  app VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  destination VARCHAR NOT NULL,
  events BIGINT NOT NULL,
  max_breadth BIGINT,
  median_breadth DOUBLE,
  fields VARCHAR[],
  hours INTEGER[],
  field_sets VARCHAR[],  -- each set shown in one access, canonical (base.field_set)
  PRIMARY KEY (employee_id, day, app, action, destination)
)""",
    # Per employee and day of data access: views under a case id of their own, how many were
    # of a customer other than the case's (what investigating groups are learned from), the
    # customers looked up under any case about someone else that nothing but the allowance
    # explained (casework.MISMATCHED_TOUCH, searches included), and whether the group investigated that day (case_mismatch's peer line).
    """CREATE TABLE IF NOT EXISTS casework_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  peer_group VARCHAR,
  linked BIGINT NOT NULL,
  linked_other BIGINT NOT NULL,
  mismatched BIGINT NOT NULL,
  investigating BOOLEAN NOT NULL,
  -- the mismatched customers per field set shown (base.field_set), what case_mismatch's
  -- line per field set is learned from; empty on most days
  mismatched_sets STRUCT(fields VARCHAR, customers BIGINT)[] NOT NULL,
  PRIMARY KEY (employee_id, day)
)""",
    # Per employee, day, own case and field set shown: views of customers other than the
    # case's, and how many of those customers no search of theirs had returned shortly
    # before: what each investigating group's case scope is learned from.
    """CREATE TABLE IF NOT EXISTS case_scope_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  case_id VARCHAR NOT NULL,
  fields VARCHAR NOT NULL,
  peer_group VARCHAR,
  views BIGINT NOT NULL,
  unsearched BIGINT NOT NULL,
  PRIMARY KEY (employee_id, day, case_id, fields)
)""",
    # Each employee's case-less targeted look-ups per day (customers shown), how many
    # of them the peer group's allowance explained, and their work (accesses to data that
    # are not such look-ups): what the allowance is learned from; and how many customers
    # those look-ups opened with no search of the employee's finding them first
    # (``unsought``, allowance.UNSOUGHT_SQL): what lookup_pace also weighs; and how many
    # of the look-ups spent the allowance (``spent``: all but the reopenings of customers
    # the employee opened alone earlier that day).
    """CREATE TABLE IF NOT EXISTS allowance_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  peer_group VARCHAR,
  lookups BIGINT NOT NULL,
  allowed BIGINT NOT NULL,
  work BIGINT NOT NULL,
  unsought BIGINT NOT NULL,
  spent BIGINT NOT NULL,
  PRIMARY KEY (employee_id, day)
)""",
    # The customers each employee served under a case that day: their book (detect/book.py).
    """CREATE TABLE IF NOT EXISTS book_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  customer_id VARCHAR NOT NULL,
  PRIMARY KEY (employee_id, day, customer_id)
)""",
    # Each employee's targeted look-ups per day and kind (app, action, sorted field set),
    # with a case or without: which kinds of look-up an allowance covers.
    """CREATE TABLE IF NOT EXISTS allowance_kinds (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  kind VARCHAR NOT NULL,
  peer_group VARCHAR,
  role VARCHAR,
  lookups BIGINT NOT NULL,
  PRIMARY KEY (employee_id, day, kind)
)""",
    # Each employee's case-less targeted look-ups per day and customer (the allowance's
    # included), with the day's first such event: how often staff come back to one person
    # with no case (:mod:`~insiderwatch.detect.revisits`), the relationship book's included:
    # what relationship books are learned from (:mod:`~insiderwatch.detect.groupbook`).
    """CREATE TABLE IF NOT EXISTS revisit_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  customer_id VARCHAR NOT NULL,
  peer_group VARCHAR,
  time TIMESTAMPTZ NOT NULL,
  event_id VARCHAR NOT NULL,
  PRIMARY KEY (employee_id, day, customer_id)
)""",
    # Each step's outbound actions that carried the employee's own case-less look-ups:
    # how many of their customers (``covered``, listed in ``copied``) out of how many
    # (``size``), and how many of those no earlier action of the window sent
    # (``fresh``); what later actions' repeats are found in, and the peer group's history
    # the own_copies detector judges rarity by (detect/owncopies.py).
    """CREATE TABLE IF NOT EXISTS own_copy_days (
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  event_id VARCHAR NOT NULL,
  peer_group VARCHAR,
  time TIMESTAMPTZ NOT NULL,
  size BIGINT NOT NULL,
  covered BIGINT NOT NULL,
  fresh BIGINT NOT NULL,
  copied VARCHAR[] NOT NULL,
  PRIMARY KEY (employee_id, day, event_id)
)""",
    # The routine in force on each day, per group ('self:<id>' for a machine), with its
    # evidence; reviewed flows of a policy file leave the counts NULL.
    """CREATE TABLE IF NOT EXISTS routine_flows (
  day DATE NOT NULL,
  grp VARCHAR NOT NULL,
  machine BOOLEAN NOT NULL,
  app VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  destination VARCHAR NOT NULL,
  doers BIGINT,
  staff BIGINT,
  employee_days BIGINT,
  events BIGINT,
  median_breadth DOUBLE,
  max_records BIGINT NOT NULL,
  hours INTEGER[] NOT NULL,
  fields VARCHAR[] NOT NULL,
  -- an access's fields must be one of these sets (or part of one); none listed (a reviewed
  -- flow written before sets were): its fields alone
  field_sets VARCHAR[][] NOT NULL DEFAULT [],
  evidence VARCHAR NOT NULL
)""",
    # Devices and addresses each employee has used, and hours they usually work.
    """CREATE TABLE IF NOT EXISTS employee_footprint (
  employee_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (employee_id, kind, value)
)""",
    """CREATE TABLE IF NOT EXISTS findings (
  finding_id VARCHAR PRIMARY KEY,
  detector VARCHAR NOT NULL,
  detector_version VARCHAR NOT NULL,
  employee_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  time TIMESTAMPTZ NOT NULL,
  first_time TIMESTAMPTZ NOT NULL,
  points DOUBLE NOT NULL,
  severity VARCHAR NOT NULL,
  critical BOOLEAN NOT NULL,
  reason VARCHAR NOT NULL,
  event_ids VARCHAR[] NOT NULL,
  customer_ids VARCHAR[] NOT NULL,
  measure VARCHAR,
  observed DOUBLE,
  threshold DOUBLE,
  own_usual DOUBLE,
  peer_usual DOUBLE,
  suppressed_by VARCHAR
)""",
    # The alert history: one row each time an alert opened or changed (contract Alert).
    """CREATE TABLE IF NOT EXISTS alerts (
  alert_id VARCHAR NOT NULL,
  revision INTEGER NOT NULL,
  employee_id VARCHAR NOT NULL,
  score DOUBLE NOT NULL,
  severity VARCHAR NOT NULL,
  detected_at TIMESTAMPTZ NOT NULL,
  opened_at TIMESTAMPTZ NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  summary VARCHAR NOT NULL,
  detectors VARCHAR[] NOT NULL,
  reasons VARCHAR[] NOT NULL,
  event_ids VARCHAR[] NOT NULL,
  customer_ids VARCHAR[] NOT NULL,
  finding_ids VARCHAR[] NOT NULL,
  PRIMARY KEY (alert_id, revision)
)""",
)

# What each employee_days measure counts, in words ({} is the value), for alert summaries.
MEASURES = {
    "unexplained_events": "{} accesses with no case",
    "unexplained_customers": "looked up {} customers with no case",
    "unexplained_weight": "exposed sensitive data worth {} points with no case",
    "unexplained_vip": "looked up {} VIPs or public figures with no case",
    "unexplained_contact": "opened the email or phone of {} customers with no case",
    "outbound_records": "sent out {} customer records",
}

# Tables holding per-day state: a rewind to day D deletes their rows from D on.
DAILY_TABLES = ("access_explained", "employee_days", "findings", "routine_days", "routine_flows",
                "casework_days", "case_scope_days", "allowance_days", "allowance_kinds",
                "book_days", "revisit_days", "own_copy_days")  # fmt: skip
ALL_TABLES = (*DAILY_TABLES, "step_explained", "step_touch_explained", "employee_footprint",
              "alerts")  # fmt: skip
# Bumped when a table above changes shape or what it holds: the state is then rebuilt by
# a full replay. (28: routine_days keeps field sets, the calendar-day machine rule needs no
# sign-in, and case-less updates spend the allowance. 29: a namesake of a common surname is
# no relative, so allowance_days counts its look-ups; a learned routine flow with no usual
# field set explains nothing, so access_explained may hold less. 30: a client several of
# a book desk come back to is in each returning member's book. 31: employee_days counts
# the unexplained customers of look-ups alone too, departing's learned line. 32: a look-up
# of a desk's shared client is explained as book:desk, no longer book:relationship. 33: a
# search with more than the targeted number of customers beside its team's portfolio
# buyers is not explained by the portfolio, so access_explained may hold less. 34: a
# machine that signed in explains none of its targeted look-ups as routine, and the no-login
# machine rule counts only identities that access data, so access_explained may hold less.
# 35: allowance_days records what spent the allowance; a same-day reopening spends nothing.
# 36: the day's public figures carry how many staff served them under cases and the
# company's bar for that, which the vip detector weighs by. 37: a leaver's handover may go
# where another group of their role sends data by routine, so access_explained may hold more.)
STATE_VERSION = "37"


def step_findings_ddl(name: str) -> str:
    """A temp table shaped like ``findings``, its NOT NULL constraints included (a
    ``CREATE TABLE AS`` copies none), so a detector's row that ``findings`` would refuse
    is refused as that detector's query inserts it."""
    ddl = next(d for d in DETECT_DDL if "EXISTS findings (" in d)
    ddl = ddl.replace("VARCHAR PRIMARY KEY", "VARCHAR NOT NULL")  # a step's moves replace
    return ddl.replace(
        "CREATE TABLE IF NOT EXISTS findings", f"CREATE OR REPLACE TEMP TABLE {name}"
    )


def ensure_tables(con) -> None:
    for ddl in DETECT_DDL:
        con.execute(ddl)


_DDL_TABLES = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", "\n".join(DETECT_DDL))


def _missing_tables(con) -> bool:
    """Whether a table above is missing (one catalogue query: a live step runs every
    second, and creating each table "if not exists" cost more)."""
    present = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND list_contains(?, table_name)",
        [_DDL_TABLES],
    ).fetchall()[0][0]
    return present < len(_DDL_TABLES)


def reset_if_outdated(store, meta: dict[str, str] | None = None) -> bool:
    """Drop detection state written by another version of these tables. ``meta``: the
    store's metadata when the caller has read it."""
    version = meta.get("detect_state_version") if meta is not None else None
    if version is None:
        version = store.meta("detect_state_version")
    if version == STATE_VERSION:
        if _missing_tables(store.con):
            ensure_tables(store.con)
        return False
    for table in ALL_TABLES:
        store.con.execute(f"DROP TABLE IF EXISTS {table}")
    ensure_tables(store.con)
    store.con.execute(
        "DELETE FROM store_meta WHERE key IN ('detect_watermark', 'detect_versions', "
        "'detect_partial', 'detect_explained_until')"
    )
    store.set_meta("detect_state_version", STATE_VERSION)
    return True
