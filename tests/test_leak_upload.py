"""A leaked list handed over in memory (the console's upload): read exactly like a file,
plain text lists of values, and nothing of it written anywhere."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.investigate import attribute, attribute_upload
from insiderwatch.errors import UnreadableFileError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.leak import read_leak, read_leak_upload
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from leak_world import FOUND, cid, email, phone, write_world
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
LEAK = "E-Mail;Mobile\n" + "".join(f"{email(i).upper()};{phone(i)}\n" for i in range(20))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("world")
    db = folder / "iw.duckdb"
    with Store(db, threads=1) as store:
        report = ingest_dataset(store, write_world(folder / "data"), KEY)
        assert not report.errors
    return db


def _columns(reading) -> dict:
    return reading.rows.drop(["row_no"]).to_pydict()


@pytest.mark.parametrize("name", ["found.csv", "found.csv.gz"])
def test_an_upload_reads_exactly_like_the_same_file(tmp_path, name):
    data = LEAK.encode()
    if name.endswith(".gz"):
        data = gzip.compress(data)
    (tmp_path / name).write_bytes(data)
    from_file = read_leak(tmp_path / name, KEY)
    uploaded = read_leak_upload(name, data, KEY)
    assert uploaded.rows.num_rows == from_file.rows.num_rows == 20
    assert _columns(uploaded) == _columns(from_file)
    assert uploaded.file == name


def test_plain_text_lists_one_value_per_line():
    text = f"{email(1)}\n\n  {phone(2)}  \nnot a thing\n{email(1).upper()}\n{cid(3)}\n"
    reading = read_leak_upload("pasted.txt", text.encode(), KEY)
    rows = _columns(reading)
    assert reading.rows_read == 5
    assert rows["email_hash"][0] == KEY.digest("email", email(1))
    assert rows["phone_hash"][1] is not None
    assert rows["customer_id"] == [None, None, cid(3)]
    assert reading.duplicates == 1  # the same email in capitals
    assert dict(reading.junk) == {"phone:not_a_phone": 1}
    assert [str(where) for where, _ in reading.problems] == ["pasted.txt:4:phone"]


def _store_deployment(world: Path):
    return load_deployment({"db": str(world), "hash_key": KEY_HEX, "threads": 1}, environ={})


def test_a_list_of_customer_ids_implicates_whoever_saw_those_customers(world):
    """An id says nothing of which details went out: ``blind`` (who saw cus000-019 by name
    and address only) is exposed to a list of their ids, not to a list of their emails."""
    deployment = _store_deployment(world)
    ids = "Customer ID\n" + "".join(f"{cid(i)}\n" for i in range(20)) + "nobody-of-ours\n"
    by_id = attribute_upload(deployment, "ids.csv", ids.encode(), found_at=FOUND)
    saw = {s.employee_id: len(s.matched_customers) for s in by_id.suspects}
    assert by_id.customers_matched == 20 and by_id.rows.matched_none == 1
    assert saw["leaker"] == saw["blind"] == 20
    by_email = attribute_upload(deployment, "emails.txt", LEAK.encode(), found_at=FOUND)
    assert "blind" not in {s.employee_id for s in by_email.suspects}


def test_a_text_file_with_a_header_is_still_read_by_its_columns():
    reading = read_leak_upload("found.txt", LEAK.encode(), KEY)
    assert reading.rows.num_rows == 20 and not reading.junk


def test_an_unknown_upload_type_is_refused_by_name():
    with pytest.raises(UnreadableFileError, match=r"found\.xlsx.*unknown leak file type"):
        read_leak_upload("found.xlsx", b"PK\x03\x04", KEY)


def test_the_upload_use_case_ranks_like_the_file_one_and_writes_nothing(world, tmp_path):
    deployment = _store_deployment(world)
    (tmp_path / "found.csv").write_text(LEAK)
    before = sorted(p.name for p in world.parent.iterdir())
    from_file = attribute(deployment, tmp_path / "found.csv", found_at=FOUND)
    uploaded = attribute_upload(deployment, "found.csv", LEAK.encode(), found_at=FOUND)
    assert sorted(p.name for p in world.parent.iterdir()) == before
    assert [s.employee_id for s in uploaded.suspects] == [s.employee_id for s in from_file.suspects]
    assert uploaded.suspects[0].employee_id == "leaker" and uploaded.suspects[0].leaker
    assert uploaded.verdict == from_file.verdict
