"""Everything a decision depends on besides the request: the bottle's egress config, its known
secrets and the live changes made to it since it started (`bottle-launch allow`/`deny`). The gate
builds it from the files the launcher handed over; `bottle-launch check` from the same documents,
written by the same functions; both apply the live changes with `_live.live_policy`."""

from __future__ import annotations

from dataclasses import dataclass, field

from bottle_contract.egress import EgressConfig, LivePolicy

from egress_gate._secrets import KnownSecret


@dataclass(frozen=True)
class Policy:
    config: EgressConfig
    known: tuple[KnownSecret, ...] = ()
    # Entries a live `deny` took off: a name one matches is refused whatever else allows it.
    denied: tuple[str, ...] = ()
    live: LivePolicy | None = None  # the live document `config` and `denied` include, if any
    # Every form of every known secret, each looked for in each request: computed once here, as
    # encoding them is far slower than looking for them.
    forms: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forms", tuple(form for k in self.known for form in k.forms))

    @property
    def bottle(self) -> str:
        return self.config.bottle

    @property
    def reporting(self) -> bool:
        """Report mode: nothing is refused; each refusal enforce would make is only logged."""
        return self.config.mode == "report"
