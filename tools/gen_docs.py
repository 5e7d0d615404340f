"""Regenerate the generated sections of docs/ (contract, settings, CLI reference)."""

from pathlib import Path

from insiderwatch.docgen import write_all

if __name__ == "__main__":
    changed = write_all(Path(__file__).resolve().parent.parent)
    print("updated: " + (", ".join(changed) if changed else "nothing"))
