"""How long the hub keeps what it holds, as the policy files say it (reviewed data, with the
citation of the rule each term follows), and the data protection impact assessment each
grant rests on.

A dataset's file says how long its deliveries are kept (``retention:``); a grant's file says
how long a release's content stays at the hub after its recipient pulled it, and how soon the
recipient confirms that it deleted its own copies once the grant has ended (``retention:``),
and which DPIA covers the processing (``dpia:``). ``gateway policy check`` refuses a dataset
or a grant without them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Rule = Annotated[str, StringConstraints(min_length=10, max_length=600, strip_whitespace=True)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliveryRetention(_Frozen):
    """How long a dataset's deliveries are kept at the hub."""

    years_after_period: int = Field(
        ge=0,
        le=100,
        description="The month's current delivery is kept this many years after the month ends.",
    )
    superseded_months: int = Field(
        ge=0,
        le=120,
        description="A version replaced by a correction is kept this many months after it was "
        "replaced (a held delivery its source never confirmed: after it arrived).",
    )
    withdrawn_days: int = Field(
        0,
        ge=0,
        le=3650,
        description="A delivery its source withdrew (or discarded while held) is kept this "
        "many days after the withdrawal: none by default, it should not be here.",
    )
    citation: Rule = Field(description="The rule these terms follow (act, section, decision).")


class ReleaseRetention(_Frozen):
    """How long a grant's releases stay at the hub, and the recipient's own deletion."""

    days_after_pull: int = Field(
        ge=0,
        le=3650,
        description="A microdata release's content is kept this many days after its last "
        "pull (or its creation, if never pulled), and never beyond the grant's end. Aggregates "
        "are kept as published.",
    )
    recipient_deletion_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="After the grant ends, the recipient confirms within this many days that "
        "it deleted its copies of the releases it pulled.",
    )
    citation: Rule


class Dpia(_Frozen):
    """The data protection impact assessment (GDPR art. 35) that covers a grant's processing."""

    reference: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    review_by: dt.date = Field(description="When the assessment is due for review.")

    def review_due(self, on: dt.date, warn_days: int = 60) -> bool:
        """Whether the review date is within ``warn_days`` (or past)."""
        return (self.review_by - on).days <= warn_days
