"""The output checker's parameters, as reviewed in ``policies/disclosure.yaml``.

A table's rules are the defaults tightened by every dataset it reads (:meth:`strictest`: a
dataset can make a rule stricter, never looser). The *method* that protects published person
counts is chosen per grant (``aggregates.method``), because whether exact counts are lawful
depends on the legal basis, not on the dataset; the default is the cell-key method.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Status(StrEnum):
    """ACRO's statuses: ``pass`` releases, ``review`` waits for people, ``fail`` is refused."""

    PASS = "pass"  # noqa: S105 - a status word, not a password
    REVIEW = "review"
    FAIL = "fail"

    @staticmethod
    def worst(statuses: list[Status]) -> Status:
        order = [Status.PASS, Status.REVIEW, Status.FAIL]
        return max(statuses, key=order.index, default=Status.PASS)


class Check(StrEnum):
    """The names ACRO gives its checks, plus the gateway's own (the last five)."""

    THRESHOLD = "threshold"
    ZEROS = "zeros"
    NK_RULE = "nk-rule"
    P_RATIO = "p-ratio"
    NEGATIVE = "negative"
    MISSING = "missing"
    SECONDARY = "secondary"  # hidden to protect another cell (a line, a group, a difference)
    DIFFERENCING = "differencing"  # within a few persons of a related cell already published
    PERTURBED_BELOW = "perturbed-below-threshold"  # cell-key: the noisy count is under k
    PROTECTION = "protection"  # hidden because the LP audit found an interval too narrow


PRIMARY = (Check.THRESHOLD, Check.ZEROS, Check.NK_RULE, Check.P_RATIO, Check.DIFFERENCING)


class Method(StrEnum):
    """How published person counts are protected (every count goes through one step,
    :func:`gateway.domain.disclosure.protection.publish`).

    * ``cell-key``: noise from a p-table read at each cell's key (statistics offices' method);
      noisy counts below the threshold are not shown. The default for statistical recipients.
    * ``suppression``: exact counts; small cells and enough partners hidden.
    * ``rounding``: counts rounded to ``rounding_base``, small cells hidden, totals recomputed
      from the published cells.
    """

    CELL_KEY = "cell-key"
    SUPPRESSION = "suppression"
    ROUNDING = "rounding"


class Scope(StrEnum):
    """Whom a released aggregate is assumed to reach. ``published``: anyone (recipients
    publish their tables and may pool them), the default. ``confidential``: the recipient
    alone, where the grant's legal basis says so (``aggregates.confidential_citation``)."""

    PUBLISHED = "published"
    CONFIDENTIAL = "confidential"


class DisclosureRules(BaseModel):
    """The checker's parameters. :meth:`strictest` combines defaults with dataset overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_persons: int = Field(5, ge=1, description="Distinct persons per published cell.")
    suppress: bool = Field(True, description="Suppress disclosive cells instead of failing.")
    zeros_disclosive: bool = Field(False, description="A cell of zero persons is disclosive.")
    dominance_n: int = Field(2, ge=1)
    dominance_k: float = Field(85.0, gt=0, le=100, description="Per cent.")
    p_percent: float = Field(10.0, ge=0, le=100, description="Per cent.")
    method: Method = Field(Method.CELL_KEY, description="How published counts are protected.")
    rounding_base: int | None = Field(None, ge=2, description="With method 'rounding'.")
    cell_key_max_noise: int = Field(2, ge=1, le=10, description="The p-table's largest noise.")
    cell_key_variance: float = Field(1.0, gt=0, le=25, description="The p-table's variance.")
    ptable_file: str | None = Field(
        None,
        description="A statistics office's p-table (CSV with pcv, ckey, pvalue), relative to "
        "the policies folder; instead of the one generated from max noise and variance.",
    )
    protection_interval: int = Field(
        4,
        ge=1,
        description="An attacker's bounds on anything protected (a hidden or perturbed small "
        "cell, a small difference between related cells) must be at least this wide: upper "
        "minus lower bound, over everything ever published.",
    )
    audit_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Time the LP audit may take to prove a table's protection; a table it "
        "cannot prove in time goes to review, never out.",
    )
    review_votes: int = Field(
        1,
        ge=1,
        le=3,
        description="Independent reviewers' votes an aggregate held for review needs.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.method is Method.ROUNDING and self.rounding_base is None:
            raise ValueError("method 'rounding' needs a rounding_base")
        return self

    def strictest(self, other: DisclosureRules) -> Self:
        """The stricter value of every rule (a dataset can tighten the defaults, never
        loosen). The method is not a matter of strictness: it stays this one's unless the
        other names another than the default."""
        bases = [b for b in (self.rounding_base, other.rounding_base) if b is not None]
        method = other.method if "method" in other.model_fields_set else self.method
        return self.model_copy(
            update={
                "min_persons": max(self.min_persons, other.min_persons),
                "suppress": self.suppress and other.suppress,
                "zeros_disclosive": self.zeros_disclosive or other.zeros_disclosive,
                "dominance_n": min(self.dominance_n, other.dominance_n),
                "dominance_k": min(self.dominance_k, other.dominance_k),
                "p_percent": max(self.p_percent, other.p_percent),
                "method": method,
                "rounding_base": max(bases) if bases else None,
                "cell_key_max_noise": max(self.cell_key_max_noise, other.cell_key_max_noise),
                "cell_key_variance": max(self.cell_key_variance, other.cell_key_variance),
                "ptable_file": other.ptable_file or self.ptable_file,
                "protection_interval": max(self.protection_interval, other.protection_interval),
                "audit_seconds": min(self.audit_seconds, other.audit_seconds),
                "review_votes": max(self.review_votes, other.review_votes),
            }
        )

    def with_method(self, method: Method | None) -> Self:
        """These rules under a grant's chosen method (None keeps the default)."""
        if method is None or method is self.method:
            return self
        if method is Method.ROUNDING and self.rounding_base is None:
            return self.model_copy(update={"method": method, "rounding_base": 5})
        return self.model_copy(update={"method": method})
