"""The reasons an access can be explained by: the names the engine writes into
``access_explained``, each with what it means to an investigator and what backs it.

Every module that explains access takes its reason's name from here (one definition per
name), and everything that shows an explanation (the console, the API records, the CLI,
``docs/detections.md``) reads the sentence from here. A name this version does not know
(a store written by an older or newer one) is shown bare, with ``(no description)``.

``policy:`` is a family: the engine writes ``policy:ROLE`` or ``policy:ROLE@APP`` for
the roles and apps a company configures, so a name is looked up whole, then by its
family.
"""

from __future__ import annotations

from dataclasses import dataclass

from insiderwatch.registry import Registry

UNKNOWN = "(no description)"


@dataclass(frozen=True)
class Reason:
    name: str
    title: str
    meaning: str  # one sentence an investigator can paste into a case
    evidence: str  # what backs it: the records to check, the setting or learned table
    family: bool = False  # ``name`` is a prefix: what follows is the configured part


REASONS: Registry[Reason] = Registry("reasons")


def _reason(name: str, title: str, meaning: str, evidence: str, *, family: bool = False) -> str:
    """Register a reason; its name (the registry's key) is what the engine writes."""
    REASONS.register(name, Reason(name, title, meaning, evidence, family))
    return name


LOGIN = _reason(
    "login", "Sign-in",
    "A sign-in, not an access to customer data.",
    "The event's action is login.",
)  # fmt: skip
POLICY = _reason(
    "policy:", "Role policy",
    "The company's detection settings allow this role (policy:ROLE), or this role in this "
    "app (policy:ROLE@APP), to access customer data.",
    "`[explanation] policy_roles` and `policy_apps` in the detection settings.",
    family=True,
)  # fmt: skip
OWN_CASE = _reason(
    "own_case", "Own case",
    "A case about this customer assigned to the employee was open when they accessed it "
    "(give or take a few minutes).",
    "The case in `cases` (employee, customer, opened and closed times); "
    "`slack_before_minutes` and `slack_after_minutes`.",
)  # fmt: skip
CALLBACK = _reason(
    "callback", "Call-back on own case",
    "The employee's own case about this customer had closed shortly before (a call-back).",
    "The closed case in `cases`; `callback_hours`.",
)  # fmt: skip
TEAM_CASE = _reason(
    "team_case", "Case of someone they manage",
    "A case about this customer was assigned to someone the employee manages.",
    "The case in `cases` and the `manager_id` in `employees`; `supervisor_after_hours`.",
)  # fmt: skip
CASE_LINKED = _reason(
    "case_linked", "Under the employee's case",
    "The case id the tool captured is the employee's open case about this customer, or an "
    "open case of theirs in an investigating group, within the case scope its peers show.",
    "The event's `case_id`; the investigating groups and case scope learned from earlier "
    "case work (`insiderwatch calibrate`).",
)  # fmt: skip
CASE_LINKED_SIMILAR = _reason(
    "case_linked:similar", "Under the employee's case (works like an investigating group)",
    "As case_linked, for staff of a group too small to learn from whose work resembles an "
    "investigating group's.",
    "The event's `case_id`; the group it resembles (`insiderwatch calibrate`).",
)  # fmt: skip
PORTFOLIO = _reason(
    "portfolio", "Team portfolio",
    "The customer bought from a seller whose buyers the employee's team's cases are about.",
    "The customer's orders in `orders`; the team's portfolio learned from earlier cases "
    "(`insiderwatch calibrate`).",
)  # fmt: skip
CASE_SEARCH = _reason(
    "case_search", "Opened from a case search",
    "An investigating group's view of a customer that the employee's own explained search "
    "returned shortly before.",
    "The earlier search event of the same employee; `drilldown_hours`.",
)  # fmt: skip
CASE_SEARCH_SIMILAR = _reason(
    "case_search:similar", "Opened from a case search (works like an investigating group)",
    "As case_search, for staff of a group too small to learn from whose work resembles an "
    "investigating group's.",
    "The earlier search event; the group it resembles (`insiderwatch calibrate`).",
)  # fmt: skip
ROUTINE = _reason(
    "routine", "Peer group's routine",
    "Work most of the employee's peer group does regularly: the same app, action, fields, "
    "destination and hours, no larger than usual.",
    "The routine flows learned from earlier days (`insiderwatch calibrate`, the policy "
    "file).",
)  # fmt: skip
ROUTINE_SIMILAR = _reason(
    "routine:similar", "Routine of a similar group",
    "As routine, for staff of a group too small to learn one, from the group whose work "
    "theirs resembles.",
    "The resembled group's routine flows (`insiderwatch calibrate`).",
)  # fmt: skip
BOOK = _reason(
    "book", "Own customer book",
    "A look-up without a case of a customer the employee served under a case on an "
    "earlier day.",
    "The earlier case work recorded in `book_days`.",
)  # fmt: skip
BOOK_RELATIONSHIP = _reason(
    "book:relationship", "Relationship book",
    "A look-up without a case of a client the employee keeps coming back to, in a peer "
    "group most of whose staff keep such a book of their own.",
    "The employee's earlier revisits (`revisit_days`) and the group's learned books "
    "(`insiderwatch calibrate`).",
)  # fmt: skip
BOOK_DESK = _reason(
    "book:desk", "Desk's shared client",
    "A look-up without a case of a client the employee's desk shares: several of the group "
    "come back to them, nobody outside it.",
    "The group's earlier revisits (`revisit_days`) and its learned desk clients "
    "(`insiderwatch calibrate`).",
)  # fmt: skip
HANDOVER = _reason(
    "handover", "Leaver's handover",
    "A leaver's export of their own customer book to where their peer group, or another "
    "group of their role, routinely sends its work.",
    "The departure date in `employees`, the employee's book and the routine destinations "
    "of their group and role.",
)  # fmt: skip
ALLOWANCE = _reason(
    "allowance", "Peer group's look-up allowance",
    "A look-up without a case, within the few such look-ups most of the employee's peer "
    "group make over the baseline window.",
    "The employee's look-ups in `allowance_days` (`spent`: a reopening of a customer the "
    "same day spends nothing); the group's allowance and the kinds it covers "
    "(`insiderwatch calibrate`).",
)  # fmt: skip
ALLOWANCE_ROLE = _reason(
    "allowance:role", "Role's look-up allowance",
    "As allowance, from the employee's role across teams: their peer group is too small to "
    "learn one.",
    "The role's allowance (`insiderwatch calibrate`).",
)  # fmt: skip
ALLOWANCE_SIMILAR = _reason(
    "allowance:similar", "Similar group's look-up allowance",
    "As allowance, from the peer group whose work the employee's resembles: their own "
    "group and role are too small to learn one.",
    "The resembled group's allowance (`insiderwatch calibrate`).",
)  # fmt: skip
ALLOWANCE_KIND = _reason(
    "allowance:kind", "Allowance for this kind of look-up",
    "As allowance, from the peer group that makes this kind of look-up most: the employee "
    "has no work in the window yet to compare.",
    "The kinds of look-up each group's allowance covers (`insiderwatch calibrate`).",
)  # fmt: skip
FOLLOWUP = _reason(
    "followup", "Follow-up",
    "A customer opened again, with no more fields, after another reason explained an "
    "access showing them to the same employee earlier that day.",
    "The earlier explained access of the same day.",
)  # fmt: skip


def reason_of(name: str) -> Reason | None:
    """The registered reason ``name`` is (whole, else by its family); None: unknown."""
    found = REASONS.find(name)  # called per row shown: a lookup, not dict(REASONS)
    if found is not None:
        return found
    found = REASONS.find(name.split(":", 1)[0] + ":")
    return found if found is not None and found.family else None


def describe(name: str) -> str:
    """The sentence to show beside the reason ``name``: :data:`UNKNOWN` for a name this
    version does not know (a store written by another), never an error."""
    found = reason_of(name)
    return found.meaning if found else UNKNOWN


def meaning(name: str | None) -> str | None:
    """:func:`describe` for an explanation that may be missing (None: nothing explains
    the access, so there is nothing to describe)."""
    return None if name is None else describe(name)
