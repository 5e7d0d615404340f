"""Personal data: normalisation, keyed hashing, the key file, and nothing raw in the store."""

from __future__ import annotations

import json
import re
import stat

import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from insiderwatch.contract import TABLES
from insiderwatch.errors import ConfigError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey, load_or_create_key, normalize_email, normalize_phone
from insiderwatch.privacy.columns import hash_column
from insiderwatch.store import Store
from insiderwatch.store.rejects import list_letters
from sample_data import (
    CUSTOMERS,
    KEY_HEX,
    OTHER_KEY_HEX,
    sample,
    write_sample,
    write_table,
)

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
FAST = settings(max_examples=60, deadline=None)

# --- normalisation ---------------------------------------------------------------------

emailish = st.builds(
    "{}{}{}@{}.{}{}".format,
    st.sampled_from(["", " ", "mailto:", "MAILTO:", "<", "<mailto:", "mailto:<", "\t"]),
    st.from_regex(r"[A-Za-z0-9._%+-]{1,12}", fullmatch=True),
    st.sampled_from(["", "+tag"]),
    st.from_regex(r"[A-Za-z0-9-]{1,10}", fullmatch=True),
    st.sampled_from(["com", "CO.UK", "org"]),
    st.sampled_from(["", " ", ">", "> ", "\n"]),
)
phoneish = st.from_regex(r"[+0(]?[0-9 ().\-+]{0,22}", fullmatch=True)


@FAST
@given(st.one_of(st.text(), emailish))
def test_normalize_email_never_raises_and_is_idempotent(raw):
    email = normalize_email(raw)
    if email is None:
        return
    assert email == email.lower() == email.strip()
    assert email.count("@") == 1
    assert not email.startswith(("mailto:", "<")) and not email.endswith(">")
    assert normalize_email(email) == email


@FAST
@given(st.one_of(st.text(), phoneish))
def test_normalize_phone_never_raises_and_is_idempotent(raw):
    phone = normalize_phone(raw)
    if phone is None:
        return
    assert E164.match(phone), phone
    assert normalize_phone(phone) == phone


@FAST
@given(
    prefix=st.sampled_from(["0", "+44 ", "+44", "0044 ", "+44 (0)", "(0"]),
    rest=st.from_regex(r"[0-9]{3}", fullmatch=True),
    sep=st.sampled_from(["", " ", "-", "."]),
)
def test_formatting_variants_of_a_uk_mobile_agree(prefix, rest, sep):
    digits = "7700900" + rest
    body = f"{digits[:4]}{sep}{digits[4:7]}{sep}{digits[7:]}"
    raw = f"(0{digits[:4]}) {digits[4:]}" if prefix == "(0" else prefix + body
    assert normalize_phone(raw) == normalize_phone("0" + digits) == "+44" + digits


@pytest.mark.parametrize(
    "raw", ["07700 900123", "+44 7700 900123", "0044 7700-900-123", "(07700) 900123", "07700900123"]
)
def test_uk_number_variants_normalise_to_one_e164(raw):
    assert normalize_phone(raw) == "+447700900123"


@pytest.mark.parametrize(
    "raw", ["", "   ", "12", "hello", "+", "0044", "07700 9001234567890123", None]
)
def test_not_a_phone(raw):
    assert normalize_phone(raw) is None


def test_phone_region_applies_to_numbers_without_country_code():
    us = normalize_phone("(202) 555-0143", "US")
    assert us == normalize_phone("+1 202 555 0143")
    assert normalize_phone("(202) 555-0143", "GB") != us
    # A number with a country code ignores the region.
    assert normalize_phone("+44 7700 900123", "US") == normalize_phone("07700 900123", "GB")


@pytest.mark.parametrize(
    "raw",
    [
        "Jo.Smith@Example.COM",
        "jo.smith@example.com",
        "  jo.smith@example.com\t",
        "mailto:Jo.Smith@example.com",
        "MAILTO:jo.smith@EXAMPLE.com",
        "<jo.smith@example.com>",
        "<mailto:jo.smith@example.com>",
        "mailto:<jo.smith@example.com>",
        "\uff4a\uff4f.smith@example.com",  # full-width "jo", folded by NFKC
    ],
)
def test_email_variants_match(raw):
    assert normalize_email(raw) == "jo.smith@example.com"


@pytest.mark.parametrize(
    "raw",
    [None, "", "  ", "not-an-email", "a@b", "a b@c.d", "a@@b.c", "@b.c", "a@b.c d", "mailto:"],
)
def test_not_an_email(raw):
    assert normalize_email(raw) is None


# --- hashing ---------------------------------------------------------------------------


def test_same_key_same_digest_different_key_different_digest():
    key, same, other = HashKey(b"k" * 32), HashKey(b"k" * 32), HashKey(b"j" * 32)
    value = "jo.smith@example.com"
    assert key.digest("email", value) == same.digest("email", value)
    assert key.digest("email", value) != other.digest("email", value)
    assert key.fingerprint == same.fingerprint != other.fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", key.digest("email", value))


def test_kinds_are_kept_apart():
    key = HashKey(b"k" * 32)
    assert key.digest("email", "x") != key.digest("phone", "x")
    # The separator keeps ("ab", "c") and ("a", "bc") apart too.
    assert key.digest("ab", "c") != key.digest("a", "bc")


@FAST
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=10))
def test_digest_many_equals_digest(values):
    key = HashKey(b"k" * 32)
    assert key.digest_many("phone", values) == [key.digest("phone", v) for v in values]


def test_digest_of_none_is_none_and_fingerprint_hides_the_key():
    key = HashKey(bytes.fromhex(KEY_HEX))
    assert key.digest("email", None) is None
    assert KEY_HEX not in key.fingerprint
    assert len(key.fingerprint) == 16


# --- the key file ----------------------------------------------------------------------


def test_key_file_created_private_and_reused(tmp_path):
    path = tmp_path / "deep" / "folder" / "hash.key"
    first = load_or_create_key(path)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.secret) >= 16
    again = load_or_create_key(path)
    assert again == first
    assert bytes.fromhex(path.read_text().strip()) == first.secret


def test_hex_key_overrides_the_file(tmp_path):
    path = tmp_path / "hash.key"
    key = load_or_create_key(path, KEY_HEX)
    assert key.secret == bytes.fromhex(KEY_HEX)
    assert not path.exists()


@pytest.mark.parametrize(
    ("hex_key", "file_text", "message"),
    [
        ("abcd", None, "at least 16 bytes"),
        ("zz" * 16, None, "not valid hex"),
        (None, "abcd\n", "too short"),
        (None, "not hex at all", "not hex"),
    ],
)
def test_bad_keys_are_refused(tmp_path, hex_key, file_text, message):
    path = tmp_path / "hash.key"
    if file_text is not None:
        path.write_text(file_text)
    with pytest.raises(ConfigError, match=message):
        load_or_create_key(path, hex_key)


def test_store_refuses_a_different_key(store):
    store.bind_key(HashKey(bytes.fromhex(KEY_HEX)))
    store.bind_key(HashKey(bytes.fromhex(KEY_HEX)))  # the same key again is fine
    other = HashKey(bytes.fromhex(OTHER_KEY_HEX))
    with pytest.raises(ConfigError) as info:
        store.bind_key(other)
    message = str(info.value)
    assert other.fingerprint in message
    assert HashKey(bytes.fromhex(KEY_HEX)).fingerprint in message
    assert "secret_file" in message and "hash_key" in message


def test_ingest_with_another_key_fails_before_loading(tmp_path, store, ingest):
    ingest(write_sample(tmp_path / "data", only=("employees",)))
    before = store.scalar("SELECT max(batch_id) FROM ingest_batches")
    with pytest.raises(ConfigError):
        ingest(tmp_path / "data", key=HashKey(bytes.fromhex(OTHER_KEY_HEX)))
    assert store.scalar("SELECT max(batch_id) FROM ingest_batches") == before


def test_cli_uses_the_hash_key_setting_and_refuses_another(cli, tmp_path, isolated_env):
    data = write_sample(tmp_path / "data", only=("employees",))
    db = tmp_path / "iw.duckdb"
    assert cli("ingest", data, "--db", db, env={"INSIDERWATCH_HASH_KEY": KEY_HEX}).exit_code == 0
    assert not isolated_env.exists(), "hash_key overrides the key file"
    with Store(db, create=False, read_only=True) as store:
        assert store.meta("hash_key_fingerprint") == HashKey(bytes.fromhex(KEY_HEX)).fingerprint
    result = cli("ingest", data, "--db", db, env={"INSIDERWATCH_HASH_KEY": OTHER_KEY_HEX})
    assert result.exit_code == 1
    assert "secret_file" in result.stderr


# --- no raw personal data in the store -------------------------------------------------

BAD_CUSTOMERS = [
    # Loaded, but email and phone cannot be normalised: both fields dropped.
    {
        "customer_id": "c4",
        "surname": "Grey",
        "email": "grey-at-example.net",
        "phone": "no-phone-please",
    },
    # Rejected for another column; its letter keeps the row, redacted.
    {
        "customer_id": "c5",
        "surname": "Pink",
        "email": "pink.panther@example.net",
        "phone": "07700 900555",
        "is_vip": "maybe",
    },
]


def _raw_strings(rows) -> set[str]:
    out = set()
    for row in rows:
        for name in ("email", "phone"):
            value = row.get(name)
            if value:
                out |= {value, value.strip().lower()}
                if normalize_email(value):
                    out.add(normalize_email(value))
                if normalize_phone(value):
                    out.add(normalize_phone(value))
    return out


def _store_bytes(folder) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _write_customers(folder, fmt, rows, header_case):
    """Customers with the email/phone headers in ``header_case``; Parquet as plain text."""
    rename = {"email": header_case("email"), "phone": header_case("phone")}
    rows = [{rename.get(k, k): _as_text(v) for k, v in r.items()} for r in rows]
    if fmt == "parquet":
        names = list(dict.fromkeys(k for r in rows for k in r))
        schema = pa.schema([(n, pa.string()) for n in names])
        return write_table(folder, "customers", rows, fmt, schema=schema)
    return write_table(folder, "customers", rows, fmt)


def _as_text(value):
    return str(value).lower() if isinstance(value, bool) else value


# Headers and JSON keys match the contract case-insensitively: a JSON key EMAIL used to
# be dropped without a word.
HEADER_CASES = [
    (fmt, case) for fmt in ("csv", "jsonl", "parquet") for case in (str.lower, str.title, str.upper)
]


@pytest.mark.parametrize(
    ("fmt", "header_case"), HEADER_CASES, ids=[f"{f}-{c.__name__}" for f, c in HEADER_CASES]
)
def test_no_raw_email_or_phone_anywhere_in_the_store(tmp_path, fmt, header_case, hash_key):
    data = tmp_path / "data"
    rows = sample("customers") + BAD_CUSTOMERS
    _write_customers(data, fmt, rows, header_case)
    folder = tmp_path / "store"
    with Store(folder / "iw.duckdb", threads=1) as store:
        report = ingest_dataset(store, data, hash_key)
        totals = report.totals
        assert not report.errors
        assert totals.rejected == 1 and totals.fields_dropped == 1
        letters = list_letters(store, table="customers")
        assert {letter["record_key"] for letter in letters} == {"c4", "c5"}
        surname_stored = store.scalar("SELECT count(*) FROM customers WHERE surname = 'Smith'")
        assert surname_stored == 1
    raw = _raw_strings(rows)
    assert raw, "the test needs raw values to look for"
    for path, content in _store_bytes(folder).items():
        for value in raw:
            assert value.encode() not in content, f"{value!r} found in {path}"
    for letter in letters:
        for value in raw:
            assert value not in (letter["record"] or ""), letter


def test_store_bytes_check_can_see_plain_text(tmp_path, store, ingest):
    """Guard for the test above: a value that is stored in clear is found in the files."""
    marker = "Zanzibarian-Surname-Marker"
    rows = sample("customers")
    rows[0]["surname"] = marker
    ingest(write_table(tmp_path / "data", "customers", rows))
    store.con.execute("CHECKPOINT")
    found = [p for p, b in _store_bytes(store.path.parent).items() if marker.encode() in b]
    assert found


def test_invalid_email_or_phone_drops_only_that_field(tmp_path, store, ingest, hash_key):
    rows = sample("customers") + BAD_CUSTOMERS[:1]
    (result,) = ingest(write_table(tmp_path / "data", "customers", rows)).files
    counts = result.counts
    assert counts.loaded == len(rows) and counts.rejected == 0 and counts.fields_dropped == 1
    email_hash, phone_hash, surname = store.con.execute(
        "SELECT email_hash, phone_hash, surname FROM customers WHERE customer_id = 'c4'"
    ).fetchall()[0]
    assert email_hash is None and phone_hash is None and surname == "Grey"
    (letter,) = list_letters(store, table="customers")
    assert letter["disposition"] == "field_dropped"
    assert letter["row_no"] == len(rows) + 1  # header is row 1
    assert (letter["field"], letter["reason"]) == ("email", "not_an_email")
    assert set(letter["problems"]) == {"email:not_an_email", "phone:not_a_phone"}
    kept = json.loads(letter["record"])
    assert "email" not in kept and "phone" not in kept and kept["customer_id"] == "c4"


def test_stored_hashes_are_keyed_hashes_of_normalised_values(tmp_path, store, ingest, hash_key):
    rows = sample("customers")
    twin = {"customer_id": "c9", "email": "  JO.SMITH@example.com ", "phone": "+44 7700 900123"}
    ingest(write_table(tmp_path / "data", "customers", [*rows, twin]))
    hashes = dict(
        store.con.execute("SELECT customer_id, [email_hash, phone_hash] FROM customers").fetchall()
    )
    assert hashes["c9"] == hashes["c1"]
    for row in CUSTOMERS:
        expected = [
            hash_key.digest("email", normalize_email(row.get("email"))),
            hash_key.digest("phone", normalize_phone(row.get("phone"))),
        ]
        assert hashes[row["customer_id"]] == expected
    columns = [d[0] for d in store.con.execute("SELECT * FROM customers LIMIT 0").description]
    assert "email" not in columns and "phone" not in columns
    assert set(TABLES["customers"].stored_arrow_schema().names) <= set(columns)


# --- hashing a whole column (ingest) ---------------------------------------------------

column_values = st.lists(
    st.one_of(
        st.none(),
        emailish,
        st.sampled_from(["07700 900123", "+44 7700 900123", "0044 7700 900123", "12", ""]),
        st.text(max_size=12),
    ),
    max_size=30,
).flatmap(lambda values: st.permutations(values + values[: len(values) // 2]))


@FAST
@given(values=column_values, kind=st.sampled_from(["email", "phone"]))
def test_hash_column_equals_one_value_at_a_time(values, kind):
    """Bulk hashing (each distinct value once) gives what normalising and hashing each
    value on its own gives, and calls a value invalid exactly when that fails."""
    key = HashKey(bytes.fromhex(KEY_HEX))
    normalize = normalize_email if kind == "email" else normalize_phone
    normal = [None if v is None else normalize(v) for v in values]
    hashed, invalid = hash_column(key, kind, pa.array(values, pa.string()))
    assert hashed.to_pylist() == [key.digest(kind, n) for n in normal]
    expected = [v is not None and n is None for v, n in zip(values, normal, strict=True)]
    assert invalid.to_pylist() == expected


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])  # typed Parquet cannot hold "maybe"
def test_bulk_hashing_keeps_every_letter_and_hash_of_a_file_with_bad_rows(
    tmp_path, store, ingest, hash_key, fmt
):
    """A customers file mixing good rows, repeated values, invalid emails and phones and
    rejected rows: each good row holds the hashes of its own normalised values, a bad
    field is dropped with its own letter (row, field, reason), and a rejected row gets
    only its rejection, whatever personal data it carried."""
    rows = [
        {"customer_id": "k1", "email": "Same@Example.com", "phone": "07700 900123"},
        {"customer_id": "k2", "email": "same@example.COM ", "phone": "+44 7700 900123"},
        {"customer_id": "k3", "email": "not-an-email", "phone": "07700 900124"},
        {"customer_id": "", "email": "lost@example.com", "phone": "07700 900125"},
        {"customer_id": "k5", "email": "k5@example.com", "phone": "12"},
        {"customer_id": "k6", "email": "not-an-email", "phone": "not a phone"},
        {"customer_id": "k7", "email": "bad", "phone": "07700 900126", "is_vip": "maybe"},
        {"customer_id": "k8", "email": None, "phone": None},
        {"customer_id": "k9", "email": "Same@Example.com", "phone": "12"},
    ]
    (result,) = ingest(write_table(tmp_path / "data", "customers", rows, fmt)).files
    first = 2 if fmt == "csv" else 1  # a CSV header is row 1
    stored = dict(
        store.con.execute("SELECT customer_id, [email_hash, phone_hash] FROM customers").fetchall()
    )
    good = [r for r in rows if r["customer_id"] and "is_vip" not in r]
    assert set(stored) == {r["customer_id"] for r in good}
    for row in good:
        assert stored[row["customer_id"]] == [
            hash_key.digest("email", normalize_email(row["email"])),
            hash_key.digest("phone", normalize_phone(row["phone"])),
        ]
    letters = sorted(
        (x["row_no"] - first, x["disposition"], sorted(x["problems"]))
        for x in list_letters(store, table="customers")
    )
    assert letters == [
        (2, "field_dropped", ["email:not_an_email"]),
        (3, "rejected", ["customer_id:missing"]),
        (4, "field_dropped", ["phone:not_a_phone"]),
        (5, "field_dropped", ["email:not_an_email", "phone:not_a_phone"]),
        (6, "rejected", ["is_vip:not_a_boolean"]),
        (8, "field_dropped", ["phone:not_a_phone"]),
    ]
    assert (result.counts.rejected, result.counts.fields_dropped) == (2, 4)


@FAST
@given(email=emailish)
def test_same_email_in_any_case_hashes_identically(email):
    assume(normalize_email(email) is not None)
    key = HashKey(bytes.fromhex(KEY_HEX))
    variants = {email, email.upper(), email.lower(), f" {email.swapcase()} "}
    digests = {key.digest("email", normalize_email(v)) for v in variants}
    assert len(digests) == 1


# --- statement texts from database audit logs ------------------------------------------

LEAKY = "leaky.customer@example.org"
PG_STATEMENTS = [
    f"select id from customers where note = 'x\\' and email = '{LEAKY}'",
    f"select id from customers where email = $q1${LEAKY}$q1$",
    f"select id /* a /* nested */ {LEAKY} */ from customers where id = 1",
    f"select id from customers where email = '{LEAKY}",
]
MARIADB_STATEMENTS = [
    f"SELECT id FROM customers # {LEAKY}\\nWHERE id = 1",
    f'SELECT id FROM customers WHERE email = \\"{LEAKY}\\"',
]


def _pgaudit_line(n: int, sql: str) -> str:
    quoted = sql.replace('"', '""')
    return (
        f'2026-09-01 10:00:0{n}.000 UTC,"alice","shop",42,"10.0.0.1:5000",6b0c.2a,{n},"SELECT",'
        f'2026-09-01 10:00:00 UTC,3/2,0,LOG,00000,"AUDIT: SESSION,{n},1,READ,SELECT,TABLE,'
        f'public.customers,{quoted},<not logged>,1",,,,,,,,,"psql","client backend",,0'
    )


def _all_table_text(store: Store) -> str:
    """Every value of every table and view, as text."""
    names = [r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    names += [
        r[0]
        for r in store.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    ]
    return "\n".join(str(store.con.execute(f'SELECT * FROM "{name}"').fetchall()) for name in names)


def test_no_raw_email_in_statement_texts_or_any_table(tmp_path, hash_key):
    from insiderwatch.ingest import ingest_logs
    from insiderwatch.sources.kinds import SourceOptions

    pg = tmp_path / "postgresql.csv"
    pg.write_text("\n".join(_pgaudit_line(i + 1, s) for i, s in enumerate(PG_STATEMENTS)) + "\n")
    maria = tmp_path / "server_audit.log"
    maria.write_text(
        "\n".join(
            f"20260901 10:00:0{i},db1,alice,10.0.0.1,12,{i},QUERY,shop,'{s}',0"
            for i, s in enumerate(MARIADB_STATEMENTS)
        )
        + "\n"
    )
    folder = tmp_path / "store"
    with Store(folder / "iw.duckdb", threads=1) as store:
        for kind, path in (("pgaudit", pg), ("mariadb-audit", maria)):
            report = ingest_logs(store, kind, [path], hash_key, SourceOptions())
            assert not [f.error for f in report.files if f.error]
        statements = store.scalar("SELECT count(*) FROM statement_fingerprints")
        assert statements >= 2, "the statements must have reached the store"
        assert store.scalar("SELECT count(*) FROM access") == len(PG_STATEMENTS) + len(
            MARIADB_STATEMENTS
        )
        assert LEAKY not in _all_table_text(store)
        store.con.execute("CHECKPOINT")
    for path, content in _store_bytes(folder).items():
        assert LEAKY.encode() not in content, f"raw email found in {path}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: p.write_bytes(bytes(range(256)) * 4), "not hex"),
        (lambda p: p.write_bytes(b"\x00\x01corrupt\xff"), "not hex"),
    ],
    ids=["directory", "binary", "corrupt"],
)
def test_an_unusable_key_file_is_a_clear_error(tmp_path, make, message):
    path = tmp_path / "hash.key"
    make(path)
    with pytest.raises(ConfigError, match=message):
        load_or_create_key(path)


def test_a_key_file_others_can_read_is_used_with_a_warning(tmp_path):
    from insiderwatch.privacy.hashing import KeyFileWarning

    path = tmp_path / "hash.key"
    path.write_text(KEY_HEX + "\n")
    path.chmod(0o644)
    with pytest.warns(KeyFileWarning, match="chmod 600"):
        key = load_or_create_key(path)
    assert key.secret == bytes.fromhex(KEY_HEX)
    path.chmod(0o600)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_or_create_key(path)


def test_odd_customer_values_are_letters_not_hashes(tmp_path, store, ingest):
    """An email given as a JSON array is not an email (it was hashed as its text), and
    a 2 MB customer id is over the contract's length limit."""
    rows = [
        {"customer_id": "c" * (2 << 20), "surname": "Long"},
        {"customer_id": "c9", "surname": "List", "email": ["x@example.com", "y@example.com"]},
    ]
    data = tmp_path / "d"
    data.mkdir()
    (data / "customers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = ingest(data)
    assert not report.errors
    assert store.scalar("SELECT email_hash FROM customers WHERE customer_id = 'c9'") is None
    letters = {(x["row_no"], x["field"], x["reason"]) for x in list_letters(store)}
    assert letters == {(1, "customer_id", "too_long"), (2, "email", "not_an_email")}
