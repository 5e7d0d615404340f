"""Rules as code: Sigma rules and native threshold rules, run as detectors.

*Sigma* (logsource ``product: insiderwatch``, ``category: access``) is the shared language
of detection engineering; pySigma turns a rule into SQL (its SQLite backend) and sqlglot
rewrites that for the store's engine. A Sigma rule sees one row per access with the
contract's columns plus ``role``, ``team``, ``explained``, ``explanation``,
``destination_class`` and ``customer_count``.

*Native* YAML rules count matching events (or distinct customers) per employee and day
and fire at the event that reaches ``threshold.count``. ``where`` takes column equality
(a value or a list of values), ``fields_contain``, ``hour_between`` (UTC hours,
inclusive) and ``off_hours`` (an hour of the day in which the employee's peer group
rarely works, learned from its earlier days: a company's staff keep their own local
hours and shifts, which no fixed UTC hours describe).

Each rule becomes one detector with id ``rule:<id>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import sqlglot
import yaml
from sqlglot import exp

from insiderwatch.detect.base import Detector, StepContext, destination_class_sql, sql_list, sql_str
from insiderwatch.detect.config import RULE_PREFIX
from insiderwatch.errors import ConfigError

BUILTIN_RULES = Path(__file__).parent / "rules"
LEVEL_POINTS = {"informational": 2.0, "low": 5.0, "medium": 15.0, "high": 30.0, "critical": 100.0}
RULE_COLUMNS = ("event_id", "time", "employee_id", "action", "app", "case_id", "src_ip",
                "device_id", "destination", "record_count", "role", "team", "peer_group",
                "explained", "explanation")  # fmt: skip
# A peer group's hours are judged once its earlier working days in the baseline window
# number this many (before that, nothing is off hours: a new team is not "at night").
OFF_HOURS_MIN_DAYS = 20


def rule_events_sql(ctx: StepContext) -> str:
    """The row a rule sees: this step's events with their context."""
    cols = ", ".join(RULE_COLUMNS)
    return (
        f"SELECT {cols}, customer_ids, fields, len(customer_ids) AS customer_count, "
        f"{destination_class_sql(ctx.config)} AS destination_class FROM step_events WHERE in_step"
    )


class NativeRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    class Threshold(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
        count: int = 1
        distinct: str | None = None  # 'customer_id' counts customers instead of events

    id: str
    title: str
    description: str = ""
    level: str = "medium"
    where: dict[str, Any] = {}
    threshold: Threshold = Threshold()


class RuleDetector(Detector):
    """Base of rule-made detectors; a subclass is made per rule file."""

    kind: str
    level: str
    source: Path
    off_hours: float | None = None  # the share of a native rule's where.off_hours

    def daily(self, ctx: StepContext, config: Any) -> dict[str, str]:
        if self.off_hours is None:
            return {}
        table = off_hours_table(self.off_hours)
        return {
            table: f"SELECT peer_group, hour FROM ({group_hours_sql(self.off_hours)}) WHERE off"
        }

    def findings_sql(self, matches: str, count_distinct: str | None, count: int) -> str:
        points = LEVEL_POINTS[self.level]
        critical = "TRUE" if self.level == "critical" else "FALSE"
        if count_distinct == "customer_id":  # each customer counts at its first match
            rows = (
                "SELECT m.employee_id, c.customer_id, min(m.time) AS time, "
                "arg_min(m.event_id, (m.time, m.event_id)) AS event_id FROM matches m "
                "CROSS JOIN unnest(m.customer_ids) AS c(customer_id) GROUP BY ALL"
            )
            order = "time, customer_id"
            counted = "count(DISTINCT customer_id)"
        else:
            rows = "SELECT employee_id, time, event_id, NULL::VARCHAR AS customer_id FROM matches"
            order = "time, event_id"
            counted = "count(DISTINCT event_id)"
        return f"""
WITH matches AS ({matches}),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY employee_id ORDER BY {order}) AS rn FROM ({rows})
),
crossing AS (SELECT employee_id, min(rn) AS rn FROM ranked WHERE rn >= {count} GROUP BY ALL)
SELECT r.employee_id, max(r.time) AS time, min(r.time) AS first_time, {points} AS points,
       {sql_str(self.level if self.level in ("low", "medium", "high", "critical") else "low")}
         AS severity, {critical} AS critical, strftime($day, '%Y-%m-%d') AS key,
       format('{{}}: {{}} matching {{}} today', {sql_str(self.title)}, {counted},
              {sql_str("customer(s)" if count_distinct == "customer_id" else "event(s)")})
         AS reason,
       list(DISTINCT r.event_id) AS event_ids,
       list(DISTINCT r.customer_id) FILTER (WHERE r.customer_id IS NOT NULL) AS customer_ids
FROM ranked r JOIN crossing x ON x.employee_id = r.employee_id AND r.rn <= x.rn
GROUP BY r.employee_id
"""


def _sigma_where(path: Path, text: str) -> tuple[dict, str]:
    """The Sigma rule's metadata and its condition as a DuckDB expression."""
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    try:
        collection = SigmaCollection.from_yaml(text)
        rule = collection.rules[0]
        sql = sqliteBackend().convert(collection)[0]
    except (SigmaError, IndexError) as exc:
        raise ConfigError(f"{path}: not a valid Sigma rule: {exc}") from None
    if rule.logsource.product != "insiderwatch":
        raise ConfigError(f"{path}: logsource.product must be 'insiderwatch'")
    select = sqlglot.parse_one(sql, read="sqlite")
    where = select.args.get("where")
    condition = where.this if where is not None else exp.true()
    unknown = {c.name for c in condition.find_all(exp.Column)} - set(RULE_COLUMNS) - {
        "customer_count", "destination_class"}  # fmt: skip
    if unknown:
        raise ConfigError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    meta = {
        "id": str(rule.id or path.stem),
        "title": rule.title,
        "description": rule.description or "",
        "level": rule.level.name.lower() if rule.level else "medium",
        "falsepositives": "; ".join(rule.falsepositives or []),
    }
    return meta, condition.sql(dialect="duckdb")


def _native_where(path: Path, rule: NativeRule) -> str:
    tests: list[str] = []
    for field, value in rule.where.items():
        if field == "fields_contain":
            tests.append(f"list_has_all(fields, {sql_list(value)})")
        elif field == "hour_between":
            lo, hi = value
            tests.append(f"hour(time) BETWEEN {int(lo)} AND {int(hi)}")
        elif field == "off_hours":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ConfigError(
                    f"{path}: where.off_hours: a share of the peer group's days between 0 "
                    f"and 1 (e.g. 0.02), not {value!r}"
                )
            tests.append(
                f"(peer_group, hour(time)) IN (SELECT (peer_group, hour) FROM {off_hours_table(value)})"
            )
        elif field not in RULE_COLUMNS and field not in ("customer_count", "destination_class"):
            raise ConfigError(f"{path}: where.{field}: unknown field")
        elif isinstance(value, bool):
            tests.append(f"{field} = {'TRUE' if value else 'FALSE'}")
        elif isinstance(value, list):
            tests.append(f"{field}::VARCHAR IN ({', '.join(sql_str(str(v)) for v in value)})")
        else:
            tests.append(f"{field}::VARCHAR = {sql_str(str(value))}")
    return " AND ".join(tests) or "TRUE"


def group_hours_sql(share: float) -> str:
    """Each peer group's hours of the day on ``$day`` (peer_group, hour, days,
    group_days, staff, off): of its working days in the baseline window (before today),
    how many had an access in that UTC hour, and whether that is fewer than ``share`` of
    them (off hours). Only groups with ``OFF_HOURS_MIN_DAYS`` working days are judged.
    Hours are counted per hour of the day, not as a span, so a night shift's hours across
    midnight are its routine too."""
    return f"""
SELECT t.peer_group, h.hour, coalesce(g.days, 0) AS days, t.days AS group_days, t.staff,
       coalesce(g.days, 0) < {float(share)} * t.days AS off
FROM (SELECT peer_group, count(DISTINCT (employee_id, day)) AS days,
             count(DISTINCT employee_id) AS staff
      FROM routine_days WHERE day >= $b0 AND day < $day AND peer_group IS NOT NULL
      GROUP BY ALL HAVING count(DISTINCT (employee_id, day)) >= {OFF_HOURS_MIN_DAYS}) t
CROSS JOIN range(24) h(hour)
LEFT JOIN (
  SELECT peer_group, hour, count(DISTINCT (employee_id, day)) AS days FROM (
    SELECT peer_group, employee_id, day, unnest(hours) AS hour FROM routine_days
    WHERE day >= $b0 AND day < $day) GROUP BY ALL
) g ON g.peer_group = t.peer_group AND g.hour = h.hour"""


def off_hours_table(share: float) -> str:
    """The day's table of the peer groups' off hours at ``share`` (peer_group, hour),
    learned once a day from earlier days' flows (:meth:`RuleDetector.daily`), where each
    live step scanned the baseline window's ``routine_days`` twice. Named by the share:
    rules with the same share read the same table."""
    return "daily_rules_off_hours_" + repr(float(share)).replace(".", "_").replace("-", "_")


def load_rule(path: Path) -> type[RuleDetector]:
    try:
        text = path.read_text()
        doc = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a rule is a YAML mapping")
    if "logsource" in doc:
        meta, where = _sigma_where(path, text)
        threshold = NativeRule.Threshold()
        kind = "sigma"
        off_hours = None
    else:
        try:
            rule = msgspec.convert(doc, NativeRule)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        meta = {"id": rule.id, "title": rule.title, "description": rule.description,
                "level": rule.level, "falsepositives": ""}  # fmt: skip
        where = _native_where(path, rule)
        threshold = rule.threshold
        kind = "native"
        off_hours = rule.where.get("off_hours")
    if meta["level"] not in LEVEL_POINTS:
        raise ConfigError(f"{path}: level must be one of {', '.join(LEVEL_POINTS)}")

    def sql(self, ctx: StepContext, config: Any) -> str:
        matches = f"SELECT * FROM ({rule_events_sql(ctx)}) WHERE {where}"
        return self.findings_sql(matches, threshold.distinct, threshold.count)

    return type(
        f"Rule_{meta['id']}",
        (RuleDetector,),
        {
            "id": f"{RULE_PREFIX}{meta['id']}",
            "version": "1",
            "kind": kind,
            "level": meta["level"],
            "source": path,
            "off_hours": off_hours,
            "title": meta["title"],
            "description": meta["description"] or meta["title"],
            "why": f"A {kind} rule written by the detection team ({path.name}).",
            "false_positives": meta["falsepositives"] or "See the rule file.",
            "investigate": "Review the matching events in the employee's timeline.",
            "sql": sql,
        },
    )


# Rules loaded, by the files' names and contents: a live service runs detection every
# second, and converting Sigma rules each time cost more than a step's bookkeeping. An
# edited, added or removed file is a new key, so it is loaded again.
_LOADED: dict[tuple, list[type[RuleDetector]]] = {}


def load_rules(paths: list[str | Path]) -> list[type[RuleDetector]]:
    """Built-in rules plus every .yml/.yaml file in ``paths`` (files or folders)."""
    files = sorted(BUILTIN_RULES.glob("*.yml"))
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted([*p.glob("*.yml"), *p.glob("*.yaml")])
        elif p.exists():
            files.append(p)
        else:
            raise ConfigError(f"{p}: no such rule file or folder")
    stamp = tuple((str(f), _content(f)) for f in files)
    if any(content is None for _, content in stamp):
        return _load_rules(files)  # which says what cannot be read
    if stamp not in _LOADED:
        if len(_LOADED) >= 8:  # rule sets of other deployments or older edits
            _LOADED.clear()
        _LOADED[stamp] = _load_rules(files)
    return list(_LOADED[stamp])


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _load_rules(files: list[Path]) -> list[type[RuleDetector]]:
    rules = [load_rule(f) for f in files]
    ids = [r.id for r in rules]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ConfigError(f"rule id(s) used twice: {', '.join(sorted(dupes))}")
    return rules
