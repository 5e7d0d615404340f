"""The last step of `make demo`: console users for the demo store, and how to open it.

Adds one user per role that the console's investigation flow needs (an investigator who
triages and asks to unmask, a privacy officer who approves, an auditor who reads the
audit log), all with one fresh random password, kept (mode 0600) beside the store and
printed. Nothing is served here: the printed `insiderwatch serve` command starts the
console. Run again on the same store, it keeps the users and prints the saved password.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.users import add_user, list_users

USERS = {"demo": "investigator", "demo-privacy": "privacy_officer", "demo-auditor": "auditor"}
ACTOR = "make demo"


def password_for(folder: Path) -> str:
    """The demo's password: the one saved beside the store, or a new one saved there."""
    saved = folder / "console-password"
    if saved.exists():
        return saved.read_text().strip()
    password = secrets.token_urlsafe(12)
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="The demo's analytics store.")
    args = parser.parse_args(argv)
    deployment = load_deployment({"db": str(args.db)})
    password = password_for(args.db.parent)
    with deployment.open_ops() as ops:
        existing = {u.name for u in list_users(ops)}
        for name, role in USERS.items():
            if name not in existing:
                add_user(ops, name, role, password, actor=ACTOR)
    port = deployment.settings.port
    print()
    print("The investigation console, for this store:")
    print(f"  .venv/bin/insiderwatch serve --db {args.db}")
    print(f"  then open http://127.0.0.1:{port}/ and log in as")
    for name, role in USERS.items():
        print(f"    {name:<13} ({role.replace('_', ' ')})")
    print(f"  password: {password}  (also in {args.db.parent / 'console-password'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
