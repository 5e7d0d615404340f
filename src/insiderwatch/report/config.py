"""The breach-response configuration the company writes once: who it is, how customers
reach it, what it did. YAML or TOML; a wrong key or value names the file and the field.

```yaml
company: Example Shop Ltd
sender: "Example Shop Privacy <privacy@example.com>"
contact: {email: privacy@example.com, phone: "+44 20 7946 0000", web: https://example.com/notice}
default_locale: en
measures: [access_revoked, investigation, police, monitoring]
```
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import msgspec
import yaml

from insiderwatch.errors import ConfigError, Location

T = TypeVar("T")


class Contact(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    email: str = ""
    phone: str = ""
    address: str = ""
    web: str = ""


class BreachConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    company: str
    sender: str  # the From: of the notice emails
    contact: Contact
    default_locale: str = "en"
    # Keys of `measures` in locales.yaml: what the company did, in every language.
    measures: list[str] = msgspec.field(
        default_factory=lambda: ["access_revoked", "investigation", "monitoring"]
    )
    contained_at: datetime | None = None  # when the insider's access was cut, if known
    delayed_by_law_enforcement: bool = False  # California notices must say so
    # For the regulator (GDPR Art. 33(3)): who answers its questions, and the likely
    # consequences in the company's own words.
    dpo: Contact | None = None
    consequences: str = (
        "Unwanted contact, phishing, scams and fraud attempts that use the exposed details "
        "to seem genuine; for payment details, fraudulent payments."
    )


def load_struct(path: Path, kind: type[T]) -> T:
    """A YAML (.yaml/.yml) or TOML file as ``kind``; every problem names the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    try:
        raw = tomllib.loads(text) if Path(path).suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"not valid YAML/TOML: {exc}", Location(str(path))) from None
    try:
        return msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec names the field as `$.contact.email`: keep it as the location's field.
        message = str(exc)
        field = message.rsplit("at `", 1)[1].rstrip("`") if "at `" in message else None
        raise ConfigError(message.split(" - at ")[0], Location(str(path), field=field)) from None
