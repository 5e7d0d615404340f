"""Cases found in review: reused ids, rejected corrections, replay of clashing rows,
letters that reopen, and identity of a source file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from insiderwatch.ingest import ingest_dataset
from insiderwatch.store.rejects import list_letters, replay

ROSTER = "employee_id,role,hired_on\ne1,cs_agent,2024-01-01\n"
HEADER = "event_id,time,employee_id,action,customer_ids,destination\n"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _access(report):
    return next(r for r in report.files if r.file.table == "access")


def test_reused_event_id_with_other_content_is_a_letter_not_a_duplicate(tmp_path, store, hash_key):
    first = tmp_path / "day1"
    _write(first, "employees.csv", ROSTER)
    _write(first, "access.csv", HEADER + "a1,2026-09-01T10:00:00Z,e1,view,c1,\n")
    ingest_dataset(store, first, hash_key)
    # The same id comes back as an export to a USB stick: it must not pass as a duplicate.
    second = tmp_path / "day2"
    _write(second, "access.csv", HEADER + "a1,2026-09-01T10:00:00Z,e1,export,c1,usb\n")
    counts = _access(ingest_dataset(store, second, hash_key)).counts
    assert counts.duplicates == 0
    assert counts.rejected == 1
    assert counts.reasons["event_id:conflicting_duplicate"] == 1
    assert store.scalar("SELECT action FROM access WHERE event_id = 'a1'") == "view"
    # Re-sending the identical original is still a plain duplicate.
    third = tmp_path / "day3"
    _write(third, "access.csv", HEADER + "a1,2026-09-01T10:00:00Z,e1,view,c1,\n")
    assert _access(ingest_dataset(store, third, hash_key)).counts.duplicates == 1


def test_repeats_inside_one_file_first_wins_and_differences_are_letters(tmp_path, store, hash_key):
    folder = tmp_path / "ds"
    _write(folder, "employees.csv", ROSTER)
    _write(
        folder,
        "access.csv",
        HEADER
        + "a1,2026-09-01T10:00:00Z,e1,view,c1,\n"
        + "a1,2026-09-01T10:00:00Z,e1,view,c1,\n"
        + "a1,2026-09-01T11:00:00Z,e1,export,c1,personal_email\n",
    )
    counts = _access(ingest_dataset(store, folder, hash_key)).counts
    assert (counts.loaded, counts.duplicates, counts.rejected) == (1, 1, 1)
    (letter,) = list_letters(store, table="access")
    assert letter["row_no"] == 4 and letter["reason"] == "conflicting_duplicate"


def test_rejected_correction_of_a_known_employee_stays_open(tmp_path, store, hash_key):
    folder = tmp_path / "ds"
    _write(folder, "employees.csv", ROSTER)
    ingest_dataset(store, folder, hash_key)
    fix = tmp_path / "fix"
    _write(fix, "employees.csv", "employee_id,role,hired_on\ne1,supervisor,2024-13-45\n")
    ingest_dataset(store, fix, hash_key)
    (letter,) = list_letters(store, table="employees")
    assert letter["resolved_batch"] is None and letter["reason"] == "not_a_date"
    assert store.scalar("SELECT role FROM employees WHERE employee_id = 'e1'") == "cs_agent"
    # A good version of the record in a later batch resolves it.
    _write(fix, "employees.csv", "employee_id,role,hired_on\ne1,supervisor,2024-12-01\n")
    ingest_dataset(store, fix, hash_key)
    assert list_letters(store, table="employees") == []


def test_letter_reopens_when_the_bad_file_comes_back(tmp_path, store, hash_key):
    bad = tmp_path / "bad"
    _write(bad, "customers.csv", "customer_id,email\nc1,not-an-email\n")
    good = tmp_path / "good"
    _write(good, "customers.csv", "customer_id,email\nc1,c1@example.com\n")
    ingest_dataset(store, bad, hash_key)
    ingest_dataset(store, good, hash_key)
    assert list_letters(store, table="customers") == []
    ingest_dataset(store, bad, hash_key)
    assert len(list_letters(store, table="customers")) == 1
    assert store.scalar("SELECT email_hash FROM customers WHERE customer_id = 'c1'") is None


def test_replay_keeps_each_letter_with_its_own_record(tmp_path, store, hash_key):
    folder = tmp_path / "ds"
    _write(folder, "employees.csv", ROSTER)
    access = _write(folder, "access.csv", HEADER + "a1,2026-09-01T10:00:00Z,e1,teleport,c1,\n")
    ingest_dataset(store, folder, hash_key)
    # The file is edited: row 2 now holds another bad record (unknown employee).
    access.write_text(HEADER + "a2,2026-09-01T10:00:00Z,e9,view,c1,\n")
    ingest_dataset(store, folder, hash_key)
    replay(store, hash_key)
    reasons = {row["record_key"]: row["problems"] for row in list_letters(store, table="access")}
    assert reasons == {"a1": ["action:unknown_value"], "a2": ["employee_id:unknown_employee"]}


def test_relative_and_absolute_paths_are_one_source(tmp_path, store, hash_key, monkeypatch):
    folder = tmp_path / "ds"
    _write(folder, "employees.csv", ROSTER)
    _write(folder, "access.csv", HEADER + "a1,2026-09-01T10:00:00Z,e1,teleport,c1,\n")
    monkeypatch.chdir(tmp_path)
    ingest_dataset(store, Path("ds"), hash_key)
    ingest_dataset(store, folder.resolve(), hash_key)
    assert len(list_letters(store, table="access")) == 1


def test_customer_letters_keep_no_oddly_named_personal_columns(tmp_path, store, hash_key):
    folder = tmp_path / "ds"
    _write(
        folder,
        "customers.csv",
        "customer_id,E-Mail,Phone,is_vip\nc1,eve@example.com,+447700900123,maybe\n",
    )
    _write(
        folder / "more",
        "customers.jsonl",
        '{"customer_id":"c2","EMAIL":"bob@example.com","is_vip":"perhaps"}\n',
    )
    ingest_dataset(store, folder, hash_key)
    letters = list_letters(store, table="customers")
    assert len(letters) == 2
    for letter in letters:
        assert "@example.com" not in letter["record"] and "7700" not in letter["record"]


def test_missing_header_error_does_not_echo_the_first_row(tmp_path, store, hash_key):
    folder = tmp_path / "ds"
    _write(folder, "customers.csv", "c1,Smith,AB1 2CD,alice@example.com,+447700900123\n")
    (result,) = ingest_dataset(store, folder, hash_key).files
    assert result.error and "customer_id" in result.error
    assert "alice@example.com" not in result.error and "7700" not in result.error


def test_zone_names_and_date_times_for_dates_are_rejected(tmp_path, store, hash_key):
    folder = tmp_path / "ds"
    _write(
        folder,
        "employees.csv",
        "employee_id,role,hired_on\ne1,cs_agent,2024-01-01\ne2,cs_agent,2024-01-01T23:30:00-05:00\n",
    )
    _write(
        folder,
        "access.csv",
        HEADER + "a1,2026-09-01 10:00 PST,e1,view,c1,\na2,2026-09-01T10:00:00-0500,e1,view,c1,\n",
    )
    report = ingest_dataset(store, folder, hash_key)
    reasons = sum((r.counts.reasons for r in report.files), start=Counter())
    assert reasons["hired_on:not_a_date"] == 1
    assert reasons["time:not_a_timestamp"] == 1
    assert str(store.scalar("SELECT time FROM access WHERE event_id = 'a2'")).startswith(
        "2026-09-01 15:00:00"
    )
