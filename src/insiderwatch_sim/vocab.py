"""Static vocabularies of the simulated company: names, places, apps, field sets.

Everything that is a lookup table (and never random) lives here, so the generators only
handle indices into these tuples and the strings are materialised once, in Arrow.
"""

from __future__ import annotations

from insiderwatch.contract import ACTIONS

# Rare surnames are composed from English place-name parts: they make the long tail where a
# shared surname between an employee and a customer is a genuine signal.
RARE_SURNAME_HEADS: tuple[str, ...] = (
    "Ash", "Black", "Brad", "Brook", "Chad", "Dal", "Ed", "Fair", "Green", "Hol", "Kirk",
    "Lang", "Mar", "Nor", "Pen", "Rad", "Shel", "Stan", "Thorn", "Wes", "Whit", "Win", "Al",
    "Bram", "Cal", "Dun", "Elm", "Hart", "Ing", "Lud", "Mid", "Ox", "Rams", "Sand", "Tew",
)  # fmt: skip
RARE_SURNAME_TAILS: tuple[str, ...] = (
    "by", "ford", "ham", "ley", "ton", "wood", "worth", "field", "well", "more", "dale",
    "wick", "stead", "combe", "bury", "croft", "hurst", "low", "thwaite", "mere",
)  # fmt: skip

# Postcode areas weighted towards big cities; districts and sectors are generated.
POSTCODE_AREAS: tuple[tuple[str, float], ...] = (
    ("SW", 5), ("SE", 5), ("N", 4), ("E", 4), ("W", 3), ("NW", 3), ("EC", 1), ("WC", 1),
    ("CR", 2), ("BR", 2), ("KT", 2), ("TW", 2), ("HA", 2), ("IG", 2), ("RM", 2), ("EN", 2),
    ("M", 5), ("B", 5), ("L", 4), ("LS", 4), ("S", 3), ("G", 4), ("EH", 3), ("CF", 3),
    ("BS", 3), ("NG", 3), ("NE", 3), ("OX", 2), ("CB", 2), ("RG", 2), ("GU", 2), ("BT", 2),
    ("SO", 2), ("PO", 2), ("DN", 1), ("YO", 1), ("HU", 1), ("LE", 2), ("CV", 2), ("ST", 1),
    ("SK", 2), ("WA", 1), ("BN", 2), ("TN", 1), ("ME", 1), ("PL", 1), ("EX", 1), ("AB", 1),
)  # fmt: skip
# Letters used in the inward code's unit part (Royal Mail never uses C I K M O V there).
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Customer email domains. Only reserved example domains, so no real mailbox is implied.
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("example.com", 30), ("example.org", 12), ("example.net", 12), ("mail.example", 14),
    ("inbox.example", 10), ("post.example", 6), ("webmail.test", 6), ("example.co.uk", 10),
)  # fmt: skip

# UK mobile number blocks (five-digit national prefixes, without the trunk 0) that
# libphonenumber accepts as valid GB mobiles for any subscriber part. Ofcom's drama block
# 07700 900xxx is deliberately absent: it is not a valid number.
MOBILE_PREFIX_RANGES: tuple[tuple[int, int], ...] = (
    (74000, 74575), (74577, 75089), (75100, 75239), (75250, 75999), (77010, 77809),
    (77820, 77969), (77980, 78289), (78300, 78389), (78400, 79110), (79120, 79369),
    (79380, 79999),
)  # fmt: skip

SITES: tuple[tuple[str, float], ...] = (
    ("London", 0.40),
    ("Manchester", 0.25),
    ("Glasgow", 0.20),
    ("Cardiff", 0.15),
)

# --- access-log vocabularies ----------------------------------------------------------

# Actions outside the contract are only used for deliberately broken rows.
BAD_ACTIONS: tuple[str, ...] = ("teleport", "delete_all", "VIEW ", "exfiltrate")
ACTION_NAMES: tuple[str, ...] = ACTIONS + BAD_ACTIONS
ACT = {name: i for i, name in enumerate(ACTION_NAMES)}

APPS: tuple[str, ...] = (
    "sso", "crm", "crm-search", "seller-portal", "fraud-workbench", "warehouse-sql",
    "admin-console", "case-review",
    # service accounts use their own application names
    "billing-sync", "crm-indexer", "order-sync", "notification-service", "fraud-scoring",
    "warehouse-loader", "address-verifier", "dsar-bot", "search-reindex", "loyalty-sync",
)  # fmt: skip
APP = {name: i for i, name in enumerate(APPS)}
SERVICE_APPS: tuple[str, ...] = APPS[APPS.index("billing-sync") :]

# Field sets an event exposes; events store an index into this tuple.
FIELD_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "search": ("name", "email", "phone"),
    "search_address": ("name", "address"),
    "profile": ("name", "email", "phone", "address"),
    "profile_orders": ("name", "email", "phone", "address", "orders"),
    "profile_notes": ("name", "email", "phone", "address", "notes"),
    "seller_view": ("name", "address", "orders"),
    "full": ("name", "email", "phone", "address", "payment", "orders", "notes"),
    "update_address": ("name", "address"),
    "update_contact": ("name", "email", "phone"),
    "contact": ("email", "phone"),
    "billing": ("name", "address", "payment"),
    "orders": ("orders",),
    "orders_address": ("orders", "address"),
    "marketing": ("name", "email", "orders"),
    "notify": ("email", "phone"),
    "payment_orders": ("payment", "orders"),
    "review": ("name", "orders", "notes"),
}
FIELD_SET_NAMES: tuple[str, ...] = tuple(FIELD_SETS)
FS = {name: i for i, name in enumerate(FIELD_SET_NAMES)}

# Destinations; the last entries break the contract pattern and only occur in bad rows.
DESTINATIONS: tuple[str, ...] = (
    "local", "usb", "printer", "personal_email", "cloud:company-warehouse", "cloud:dropbox",
    "cloud:google-drive", "cloud:dsar-portal", "external:partner-bank.example",
    "external:filedrop.example", "external:paste.example", "external:mailbox.example",
    "cloud:team-drive",
)  # fmt: skip
BAD_DESTINATIONS: tuple[str, ...] = ("personal email", "external:", "ftp://files.example", "USB")
DESTINATION_NAMES: tuple[str, ...] = DESTINATIONS + BAD_DESTINATIONS
DEST = {name: i for i, name in enumerate(DESTINATION_NAMES)}

CASE_CHANNELS: tuple[str, ...] = ("phone", "chat", "email", "internal", "seller_portal")
CHANNEL = {name: i for i, name in enumerate(CASE_CHANNELS)}
