"""What a company style declares: sites, roles and their programs, service accounts,
vocabularies, and how its customers write their details."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from holdout.benign import Handover, Logins, Program


@dataclass(frozen=True)
class Site:
    code: str
    tz: str  # IANA zone: offsets (daylight saving included) come from it, day by day
    holidays: tuple[str, ...] = ()  # ISO dates the office is closed
    hours: str = "office"  # "office" or "24/7" (night shifts only where the site runs them)


@dataclass(frozen=True)
class Role:
    name: str
    share: float  # of the human staff
    team: str
    sites: dict[str, float]
    apps: tuple[str, ...]  # the first for look-ups, the last for exports and messages
    programs: tuple[Program, ...]
    shifts: tuple[tuple[float, float], ...] = ((8.5, 1.0),)  # (local start hour, weight)
    shift_len: float = 8.5
    rota: str = "weekdays"  # or "rolling": five days in seven, weekends included
    remote: float = 0.1
    team_size: int = 0  # casework teams of about this size, each with a lead
    shared_device: bool = False  # counter staff on the branch's kiosks


@dataclass(frozen=True)
class Service:
    account: str
    role: str
    team: str
    app: str
    program: Program


@dataclass(frozen=True)
class Style:
    name: str
    sites: tuple[Site, ...]
    roles: tuple[Role, ...]
    services: tuple[Service, ...]
    lead_role: str
    shared_drive: str  # where leavers hand their work over
    customer_prefix: str
    mail_domains: tuple[str, ...]
    phone_formats: tuple[tuple[str, int], ...]  # per site: (format, digits to draw)
    customer_regions: tuple[float, ...]  # share of customers served mostly by each site
    household_sizes: tuple[float, float, float, float] = (0.7, 0.2, 0.07, 0.03)
    vip_share: float = 0.002
    peaks: dict[str, float] = field(default_factory=dict)  # date -> contact demand
    id_format: str = "u{:05d}"
    kiosk_prefix: str = "KIOSK"
    device_format: str = "LT-{:06X}"
    home_net: str = "86"
    postcode_format: str = "{a}{n} {d}{b}"

    @property
    def all_roles(self) -> tuple:
        """Human roles, then one per service account (a service account is its own role)."""
        services = tuple(
            Role(s.role, 0.0, s.team, {self.sites[0].code: 1.0}, (s.app,), (s.program,),
                 shifts=((0.0, 1.0),), shift_len=24.0, rota="rolling", remote=0.0)
            for s in self.services
        )  # fmt: skip
        return self.roles + services

    def role_index(self, name: str) -> int:
        return next(i for i, r in enumerate(self.all_roles) if r.name == name)

    def site_index(self, code: str) -> int:
        return next(i for i, s in enumerate(self.sites) if s.code == code)

    def programs_of(self, role: Role) -> tuple[Program, ...]:
        """Every human signs in and hands over when leaving; service accounts just run
        their job."""
        if role.share == 0.0:
            return role.programs
        return (Logins(), *role.programs, Handover(self.shared_drive))

    def employee_id(self, i: int, rng: np.random.Generator) -> str:
        return self.id_format.format(10_000 + 7 * i + int(rng.integers(0, 7)))

    def device_name(self, rng: np.random.Generator) -> str:
        return self.device_format.format(int(rng.integers(0, 16**6)))

    def postcodes(self, n: int, rng: np.random.Generator) -> list[str]:
        letters = "ABCDEFGHJKLMNPRSTUWXYZ"
        out = set()
        while len(out) < n:
            a, b = rng.integers(0, len(letters), size=2)
            out.add(self.postcode_format.format(
                a=letters[a], b=letters[b] + letters[(a + b) % len(letters)],
                n=int(rng.integers(1, 30)), d=int(rng.integers(0, 10)),
                z=int(rng.integers(10_000, 99_999)),
            ))  # fmt: skip
        return sorted(out)

    def phones(self, region: np.ndarray, rng: np.random.Generator) -> list[str]:
        """Numbers as customers type them: each site's country in its own formats."""
        out = []
        for s in region:
            fmt, digits = self.phone_formats[s]
            drawn = str(int(rng.integers(10 ** (digits - 1), 10**digits)))
            out.append(fmt.format(*drawn))
        return out
