"""Company profiles: what makes one simulated company unlike another.

The generators speak an internal vocabulary of *kinds* (role ``cs_agent``, app ``crm``,
destination ``cloud:company-warehouse`` ...). A profile says what this company calls each
of them, how its workforce is mixed, how carefully its tools link access to cases, what
its service accounts do, which time zone and hours it keeps, and which insider scenarios
it contains. Names are drawn from pools of alternatives, each profile taking a different
one, so no two built-in profiles share a vocabulary: a detector default that quietly names
one company's app or role cannot pass on the others.

    profile = PROFILES.get("fintech-apac")
"""

from __future__ import annotations

import msgspec

from insiderwatch.registry import Registry

# Internal kinds -> alternatives. Entry 0 is the original simulator's vocabulary (profile
# "classic"); profile number i takes entry i, so built-in profiles never share a name.
ROLE_POOLS: dict[str, tuple[str, ...]] = {
    "cs_agent": ("cs_agent", "support_rep", "care_advisor", "customer_associate",
                 "service_agent", "contact_centre_agent", "member_services", "helpdesk_specialist"),
    "seller_support": ("seller_support", "merchant_success", "partner_care", "vendor_support",
                       "marketplace_ops", "retailer_liaison", "supplier_desk",
                       "account_coordinator"),
    "fraud_investigator": ("fraud_investigator", "risk_analyst", "trust_safety",
                           "loss_prevention", "financial_crime", "payments_risk",
                           "investigator", "integrity_specialist"),
    "data_analyst": ("data_analyst", "bi_developer", "insights_analyst", "data_scientist",
                     "reporting_specialist", "analytics_engineer", "quant_analyst",
                     "growth_analyst"),
    "supervisor": ("supervisor", "team_lead", "shift_manager", "coach", "floor_lead",
                   "section_head", "queue_manager", "squad_lead"),
    "engineer": ("engineer", "sre", "developer", "platform_engineer", "backend_dev",
                 "support_engineer", "devops", "software_engineer"),
    "ops_manager": ("ops_manager", "head_of_service", "operations_director", "service_manager",
                    "cx_manager", "regional_manager", "area_lead", "ops_lead"),
    "service_account": ("service_account", "system", "integration", "robot", "machine_user",
                        "daemon", "bot", "app_identity"),
}  # fmt: skip

APP_POOLS: dict[str, tuple[str, ...]] = {
    "sso": ("sso", "okta", "idp", "pingone", "entra-id", "adfs", "keycloak", "onelogin"),
    "crm": ("crm", "kustomer", "gladly", "helix", "carehub", "c360", "freshdesk", "dynamics"),
    "crm-search": ("crm-search", "kustomer-search", "gladly-lookup", "helix-find", "carehub-search",
                   "c360-query", "freshdesk-find", "dyn-search"),
    "seller-portal": ("seller-portal", "merchant-center", "partner-hub", "vendor-central",
                      "marketplace-admin", "retailer-desk", "supplier-portal", "shopkeeper"),
    "fraud-workbench": ("fraud-workbench", "sift-console", "risk-studio", "case-manager",
                        "featurespace", "fraudnet", "trust-console", "aml-desk"),
    "warehouse-sql": ("warehouse-sql", "snowflake", "bigquery", "redshift", "looker", "tableau",
                      "metabase", "databricks-sql"),
    "admin-console": ("admin-console", "django-admin", "retool", "backoffice", "superuser",
                      "ops-tool", "rails-admin", "root-panel"),
    "case-review": ("case-review", "qa-review", "playvox", "quality-desk", "coaching",
                    "evaluagent", "scorebuddy", "maestro-qa"),
    "billing-sync": ("billing-sync", "stripe-webhook", "invoice-daemon", "ledger-feed",
                     "recurly-sync", "chargebee-hook", "billing-etl", "payments-bridge"),
    "crm-indexer": ("crm-indexer", "elastic-feeder", "solr-indexer", "search-indexer",
                    "algolia-sync", "opensearch-pipe", "lucene-job", "typesense-sync"),
    "order-sync": ("order-sync", "oms-bridge", "order-feed", "fulfilment-hook", "shopify-sync",
                   "order-etl", "magento-bridge", "commerce-sync"),
    "notification-service": ("notification-service", "braze-sender", "twilio-notify", "mailer",
                             "sendgrid-relay", "push-gateway", "comms-hub", "iterable-sync"),
    "fraud-scoring": ("fraud-scoring", "risk-model", "sift-scorer", "ml-scoring",
                      "riskified-hook", "fraud-ml", "score-api", "forter-bridge"),
    "warehouse-loader": ("warehouse-loader", "fivetran", "airbyte", "stitch-etl",
                         "nightly-extract", "dbt-runner", "lake-ingest", "meltano"),
    "address-verifier": ("address-verifier", "loqate", "postcode-check", "smarty-verify",
                         "addr-clean", "geo-validate", "address-api", "here-geocoder"),
    "dsar-bot": ("dsar-bot", "privacy-portal", "onetrust-agent", "gdpr-exporter",
                 "transcend-bot", "sar-handler", "dsr-worker", "ketch-agent"),
    "search-reindex": ("search-reindex", "reindexer", "bulk-index", "search-rebuild",
                       "index-refresh", "catalog-reindex", "full-reindex", "es-reindex"),
    "loyalty-sync": ("loyalty-sync", "rewards-feed", "points-engine", "antavo-sync",
                     "loyaltylion", "perks-bridge", "club-sync", "tiers-etl"),
}  # fmt: skip

# Destinations the company owns or contracts (first three) and those insiders use. The
# contract's own kinds (local, usb, printer, personal_email) are not vocabulary.
DESTINATION_POOLS: dict[str, tuple[str, ...]] = {
    "cloud:team-drive": ("cloud:team-drive", "cloud:sharepoint-ops", "cloud:gdrive-corp",
                         "cloud:box-teams", "cloud:onedrive-biz", "cloud:nas-share",
                         "cloud:confluence-files", "cloud:team-vault"),
    "cloud:company-warehouse": ("cloud:company-warehouse", "cloud:lake-eu", "cloud:s3-analytics",
                                "cloud:gcs-dwh", "cloud:azure-datalake", "cloud:bq-exports",
                                "cloud:snowflake-stage", "cloud:minio-internal"),
    "cloud:dsar-portal": ("cloud:dsar-portal", "cloud:privacy-requests", "cloud:onetrust",
                          "cloud:gdpr-box", "cloud:transcend", "cloud:sar-vault",
                          "cloud:dsr-exports", "cloud:ketch"),
    "external:partner-bank.example": ("external:partner-bank.example",
                                      "external:acquirer.example",
                                      "external:card-issuer.example",
                                      "external:collections.example",
                                      "external:credit-bureau.example",
                                      "external:insurer.example",
                                      "external:payments-partner.example",
                                      "external:lender.example"),
    "cloud:dropbox": ("cloud:dropbox", "cloud:mega", "cloud:wetransfer", "cloud:box-personal",
                      "cloud:pcloud", "cloud:icloud", "cloud:onedrive-personal",
                      "cloud:proton-drive"),
    "cloud:google-drive": ("cloud:google-drive", "cloud:mediafire", "cloud:sync-com",
                           "cloud:tresorit", "cloud:yandex-disk", "cloud:koofr",
                           "cloud:jottacloud", "cloud:idrive"),
    "external:filedrop.example": ("external:filedrop.example", "external:sendspace.example",
                                  "external:transfer.example", "external:dropzone.example",
                                  "external:fileshare.example", "external:upload.example",
                                  "external:bigfile.example", "external:quickdrop.example"),
    "external:paste.example": ("external:paste.example", "external:ghostbin.example",
                               "external:textdump.example", "external:snippet.example",
                               "external:notes.example", "external:clip.example",
                               "external:pastes.example", "external:scratch.example"),
    "external:mailbox.example": ("external:mailbox.example", "external:anonmail.example",
                                 "external:tempmail.example", "external:postbox.example",
                                 "external:burner.example", "external:relay.example",
                                 "external:letterbox.example", "external:inbox.example"),
}  # fmt: skip

# Team name stems per team kind (numbers and sites are appended as the roster is built).
TEAM_POOLS: dict[str, tuple[str, ...]] = {
    "cs": ("cs", "care", "support", "service", "helpdesk", "contact", "members", "cx"),
    "vip": ("vip-care", "premier", "concierge", "private-client", "platinum", "elite-desk",
            "priority", "white-glove"),
    "seller": ("seller-support", "merchant", "partner", "vendor", "marketplace", "retail-desk",
               "supplier", "accounts"),
    "fraud": ("fraud", "risk", "trust", "lossprev", "fincrime", "payrisk", "investigations",
              "integrity"),
    "analytics": ("analytics", "bi", "insights", "data-science", "reporting", "data", "growth",
                  "quant"),
    "engineering": ("engineering", "platform-dev", "software", "dev", "tech", "product-eng",
                    "r-and-d", "build"),
    "operations": ("operations", "service-mgmt", "ops-leadership", "cx-leadership",
                   "management", "ops-office", "service-office", "directorate"),
    "platform": ("platform", "integrations", "systems", "robots", "machines", "daemons",
                 "automation", "infra"),
    "night": ("night", "overnight", "late", "nocturne", "graveyard", "moon", "owl", "after-hours"),
    "desk": ("front-desk", "counter", "branch", "walk-in", "reception", "shop-floor", "store-desk",
             "kiosk"),
    "book": ("relationship-desk", "client-book", "business-banking", "key-accounts", "client-partners",
             "wealth-desk", "corporate-desk", "client-managers"),
}  # fmt: skip

SITE_POOLS: tuple[tuple[str, ...], ...] = (
    ("London", "Manchester", "Glasgow", "Cardiff"),
    ("New York", "Austin", "Manila", "Tampa"),
    ("Singapore", "Kuala Lumpur", "Jakarta", "Cebu"),
    ("Berlin", "Leipzig", "Lisbon", "Krakow"),
    ("San Francisco", "Denver", "Guadalajara", "Phoenix"),
    ("Sydney", "Brisbane", "Auckland", "Perth"),
    ("Bengaluru", "Pune", "Chennai", "Hyderabad"),
    ("Sao Paulo", "Curitiba", "Recife", "Porto Alegre"),
)

# Insider scenarios (see insiders.py). The rule-aware ones know the thresholds and the
# case-linking rules and work around them.
BLATANT_SCENARIOS: tuple[str, ...] = (
    "bulk_exfiltration", "slow_drip", "vip_snooping", "relationship_snooping",
    "departing_exporter", "canary_harvester",
)  # fmt: skip
RULE_AWARE_SCENARIOS: tuple[str, ...] = (
    "low_and_slow", "ticket_cover", "spread_harvest", "accomplices", "ex_partner_snoop",
    "dispute_skim", "walkin_drip",
)  # fmt: skip
# Played only where a relationship desk exists (profiles with ``Mix.book_desk``).
BOOK_SCENARIOS: tuple[str, ...] = ("book_snoop",)
# A famous customer in the news draws a crowd of case-less look-ups: played where the
# context flags few or none of the famous customers (``Profile.vip_flagged``).
NEWS_SCENARIOS: tuple[str, ...] = ("celebrity_news",)


class Mix(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Shares of the front line in each kind of role (the rest are customer service)."""

    engineer: float = 0.05
    data_analyst: float = 0.04
    fraud_investigator: float = 0.05
    seller_support: float = 0.12
    vip: float = 0.015
    service_accounts: float = 0.004  # of the whole roster
    night_teams: float = 0.1  # of customer-service teams
    front_desk: float = 0.0  # counter staff serving walk-in customers, no case at all
    # Relationship desks: each member keeps a book of customers, called on a weekly
    # cadence with no case at all.
    book_desk: float = 0.0


class Profile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One kind of company. Every name a detector could latch on to is here."""

    name: str
    description: str
    roles: dict[str, str]  # role kind -> this company's role name
    apps: dict[str, str]
    destinations: dict[str, str]
    teams: dict[str, str]  # team kind -> name stem
    sites: tuple[str, ...]  # head office first, then the seller-support site
    site_weights: tuple[float, ...]
    night_site: str = ""  # where night teams sit (default: the last site)
    staff_id: str = "emp-{:05d}"  # format of an employee number
    service_id: str = "svc-{}"  # format of a service account's id (its app name)
    separator: str = "-"  # in team names
    timezone: str = "Europe/London"  # the staff's clock
    shift_shift_hours: float = 0.0  # every shift starts this much later (earlier if < 0)
    mix: Mix = Mix()
    case_link: float = 1.0  # scales how often tools capture the case id
    nocase: float = 1.0  # scales legitimate look-ups no case explains
    service_rate: float = 1.0  # scales service accounts' traffic
    loader_every_hours: int = 1  # the warehouse loader's export cadence
    # Share of seller support's customers (cases and quick look-ups without one) who are
    # VIPs: a book of famous clients, looked up routinely, with and without a case.
    vip_book: float = 0.0
    # Share of the famous customers the context flags as VIP (is_vip); the others are
    # famous only in how staff treat them: a company without a VIP list has 0.
    vip_flagged: float = 1.0
    scenarios: tuple[str, ...] = BLATANT_SCENARIOS

    def vocabulary(self) -> set[str]:
        """Every name this profile makes up (what a shipped default must never mention)."""
        names = {*self.roles.values(), *self.apps.values(), *self.teams.values(), *self.sites}
        names |= {d.split(":", 1)[1] for d in self.destinations.values()}
        return names


PROFILES: Registry[Profile] = Registry("sim_profiles")


def _varied(number: int, name: str, description: str, **knobs) -> Profile:
    """Profile number ``number`` takes alternative ``number`` of every pool."""

    def pick(pools: dict[str, tuple[str, ...]]) -> dict[str, str]:
        return {kind: names[number % len(names)] for kind, names in pools.items()}

    sep = knobs.get("separator", "-")
    apps = {k: v.replace("-", sep) for k, v in pick(APP_POOLS).items()}
    sites = SITE_POOLS[number % len(SITE_POOLS)]
    return Profile(
        name=name,
        description=description,
        roles=pick(ROLE_POOLS),
        apps=apps,
        destinations=pick(DESTINATION_POOLS),
        teams={k: v.replace("-", sep) for k, v in pick(TEAM_POOLS).items()},
        sites=sites,
        site_weights=knobs.pop("site_weights", (0.4, 0.25, 0.2, 0.15)),
        **knobs,
    )


_ALL = RULE_AWARE_SCENARIOS + BLATANT_SCENARIOS
for _profile in (
    _varied(
        0,
        "classic",
        "UK online retailer with a marketplace: the original simulator.",
        night_site="Glasgow",
    ),
    _varied(
        1,
        "us-marketplace",
        "US marketplace, offshore night support, many sellers, sloppy case linking, pickup counters, "
        "half its famous customers flagged VIP.",
        staff_id="E{:06d}",
        service_id="sa-{}",
        timezone="America/New_York",
        mix=Mix(seller_support=0.22, vip=0.01, night_teams=0.25, front_desk=0.1),
        case_link=0.7,
        nocase=1.6,
        vip_flagged=0.5,
        scenarios=_ALL + NEWS_SCENARIOS,
    ),
    _varied(
        2,
        "fintech-apac",
        "Payments company in Singapore: a large risk team, few sellers, early starts, "
        "relationship managers for business clients.",
        staff_id="u{:05d}",
        service_id="sys_{}",
        separator="_",
        timezone="Asia/Singapore",
        shift_shift_hours=-1.0,
        mix=Mix(
            fraud_investigator=0.14,
            seller_support=0.02,
            data_analyst=0.06,
            vip=0.03,
            book_desk=0.08,
        ),
        loader_every_hours=24,
        scenarios=_ALL + BOOK_SCENARIOS,
    ),
    _varied(
        3,
        "eu-telco",
        "German telco: unionised day shifts, strict ticket discipline, nightly extracts, "
        "a key-account desk.",
        staff_id="P{:07d}",
        service_id="robot.{}",
        timezone="Europe/Berlin",
        shift_shift_hours=-1.5,
        mix=Mix(engineer=0.08, night_teams=0.0, book_desk=0.06),
        case_link=1.05,
        nocase=0.6,
        loader_every_hours=24,
        scenarios=_ALL + BOOK_SCENARIOS,
    ),
    _varied(
        4,
        "data-heavy-saas",
        "Californian subscription business: analysts and engineers everywhere, busy integrations, "
        "no VIP list.",
        staff_id="{:06d}",
        service_id="int-{}",
        timezone="America/Los_Angeles",
        shift_shift_hours=1.0,
        mix=Mix(
            engineer=0.12,
            data_analyst=0.12,
            fraud_investigator=0.02,
            seller_support=0.05,
            service_accounts=0.01,
        ),
        service_rate=2.0,
        vip_flagged=0.0,
        scenarios=_ALL + NEWS_SCENARIOS,
    ),
    _varied(
        5,
        "anz-insurer",
        "Australian insurer: claims handlers, many VIP policyholders (half of the account "
        "managers' book), little night work.",
        staff_id="emp_{:05d}",
        service_id="svc_{}",
        separator="_",
        timezone="Australia/Sydney",
        mix=Mix(vip=0.05, fraud_investigator=0.08, seller_support=0.03, night_teams=0.05),
        case_link=0.85,
        vip_book=0.5,
        scenarios=_ALL,
    ),
    _varied(
        6,
        "india-bpo",
        "Outsourced contact centre in India serving a European retailer: rotas around the clock.",
        staff_id="BPO{:05d}",
        service_id="bot-{}",
        timezone="Asia/Kolkata",
        shift_shift_hours=2.5,
        mix=Mix(engineer=0.02, data_analyst=0.02, night_teams=0.35, seller_support=0.08),
        case_link=0.8,
        nocase=1.3,
        site_weights=(0.5, 0.3, 0.15, 0.05),
        scenarios=_ALL,
    ),
    _varied(
        7,
        "latam-retail",
        "Brazilian retailer: small, case ids rarely captured, one big service account, store desks.",
        staff_id="c{:05d}",
        service_id="{}-svc",
        timezone="America/Sao_Paulo",
        mix=Mix(
            seller_support=0.15, fraud_investigator=0.03, service_accounts=0.002, front_desk=0.15
        ),
        case_link=0.55,
        nocase=2.0,
        service_rate=0.6,
        loader_every_hours=6,
        scenarios=_ALL,
    ),
):
    PROFILES.register(_profile.name, _profile)
