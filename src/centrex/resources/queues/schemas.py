"""Queue and queue-agent API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, computed_field, field_validator

from centrex.domain import queue_strategies
from centrex.resources.destinations import Destination, ObjId
from centrex.resources.extension_groups.members import DialNumber, no_duplicates
from centrex.resources.fields import E164, Name, StrictModel

# The names of centrex.domain.queue_strategies.STRATEGIES (a unit test keeps the two in step).
StrategyName = Literal[
    "ring_all",
    "linear",
    "random_start",
    "round_robin",
    "longest_idle",
    "least_talk_time",
    "fewest_calls",
    "hunt_by_threes",
    "first_three_available",
    "random",
    "weighted",
    "skills_ring_all",
    "skills_random_start",
    "skills_round_robin",
    "skills_fewest_calls",
]


def _polling(code: int) -> int:
    queue_strategies.from_polling(code)  # refuses the undefined 2 with its reason
    return code


PollingStrategy = Annotated[
    int,
    Field(
        ge=queue_strategies.MIN_CODE,
        le=queue_strategies.MAX_CODE,
        description="The 3CX `pollingstrategy` code (0–13, except the undefined 2) instead of `strategy`: "
        "0 Hunt, 1 Ring All, 3 Hunt random start, 4 Next agent, 5 Longest waiting, 6 Least talk time, "
        "7 Fewest answered, 8 Hunt by 3's, 9 First 3 available, 10–13 skill-based.",
    ),
    AfterValidator(_polling),
]
AgentRingTime = Annotated[int, Field(ge=5, le=300, description="Seconds an agent's phone rings (5–300).")]
MaxWait = Annotated[
    int, Field(ge=10, le=86400, description="Seconds a caller may wait before the timeout destination.")
]
MaxCallers = Annotated[int, Field(ge=1, le=1000, description="Callers waiting at most; null: no limit.")]
WrapUp = Annotated[int, Field(ge=0, le=600, description="Seconds after a call before the agent is offered another.")]
AnnounceInterval = Annotated[int, Field(ge=15, le=600, description="Seconds between position/hold-time announcements.")]
SlaSeconds = Annotated[int, Field(ge=1, le=3600, description="Answer within this many seconds to meet the SLA.")]
ManagerIds = Annotated[list[ObjId], Field(max_length=100, description="Extensions that supervise the queue.")]
PauseReason = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]

# MiRTA agent types: which ones fit an extension and which an outside number.
EXTENSION_AGENT_TYPES = ("NF", "AD", "NFR", "ADR")
EXTERNAL_AGENT_TYPES = ("EA", "EANM", "EAC", "EANMC", "CU", "CUNM", "CC", "CUFF")
AgentType = Literal["NF", "AD", "NFR", "ADR", "EA", "EANM", "EAC", "EANMC", "CU", "CUNM", "CC", "CUFF"]
AgentKind = Literal["static", "dynamic"]
Penalty = Annotated[int, Field(ge=0, le=100, description="Skill level / penalty: lower rings first (0–100).")]
Position = Annotated[int, Field(ge=0, le=10000, description="Order in the agent list (hunt strategies).")]


def _unique(ids: list[str] | None) -> list[str] | None:
    no_duplicates(ids, "managers")
    return ids


class QueueCreate(StrictModel):
    name: Name
    number: DialNumber
    strategy: StrategyName | None = Field(
        default=None, description="How agents are chosen (default `random_start`, 3CX's default)."
    )
    polling_strategy: PollingStrategy | None = None
    agent_ring_time: AgentRingTime = 20
    max_wait: MaxWait = 300
    max_callers: MaxCallers | None = None
    wrap_up: WrapUp = 0
    announce_position: bool = False
    announce_hold_time: bool = False
    announce_interval: AnnounceInterval = 60
    intro_media_id: ObjId | None = Field(default=None, description="Played to each caller on entry.")
    moh_class_id: ObjId | None = Field(default=None, description="Music while waiting.")
    join_empty: bool = Field(default=True, description="Callers may join while no agent is logged in.")
    timeout_destination: Destination | None = Field(default=None, description="After `max_wait`.")
    full_destination: Destination | None = Field(default=None, description="When `max_callers` are waiting.")
    empty_destination: Destination | None = Field(
        default=None, description="When no agent is logged in and `join_empty` is false."
    )
    manager_ids: ManagerIds = Field(default_factory=list)
    sla_seconds: SlaSeconds = 20
    callback_enabled: bool = Field(default=False, description="Callers may hang up and be called back.")
    record: bool = False

    _managers = field_validator("manager_ids")(_unique)


class QueueUpdate(StrictModel):
    name: Name | None = None
    number: DialNumber | None = None
    strategy: StrategyName | None = None
    polling_strategy: PollingStrategy | None = None
    agent_ring_time: AgentRingTime | None = None
    max_wait: MaxWait | None = None
    max_callers: MaxCallers | None = None
    wrap_up: WrapUp | None = None
    announce_position: bool | None = None
    announce_hold_time: bool | None = None
    announce_interval: AnnounceInterval | None = None
    intro_media_id: ObjId | None = None
    moh_class_id: ObjId | None = None
    join_empty: bool | None = None
    timeout_destination: Destination | None = None
    full_destination: Destination | None = None
    empty_destination: Destination | None = None
    manager_ids: ManagerIds | None = None
    sla_seconds: SlaSeconds | None = None
    callback_enabled: bool | None = None
    record: bool | None = None

    _managers = field_validator("manager_ids")(_unique)


# Fields that may be omitted on update but never set to null.
NOT_NULL = (
    "name",
    "number",
    "agent_ring_time",
    "max_wait",
    "wrap_up",
    "announce_position",
    "announce_hold_time",
    "announce_interval",
    "join_empty",
    "manager_ids",
    "sla_seconds",
    "callback_enabled",
    "record",
)
SIMPLE = frozenset(
    {
        "name",
        "agent_ring_time",
        "max_wait",
        "max_callers",
        "wrap_up",
        "announce_position",
        "announce_hold_time",
        "announce_interval",
        "join_empty",
        "sla_seconds",
        "callback_enabled",
        "record",
    }
)
DESTINATIONS = ("timeout_destination", "full_destination", "empty_destination")


class QueueFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    number: Annotated[str, StringConstraints(max_length=16)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in number and name."
    )
    strategy: Annotated[str, StringConstraints(max_length=32)] | None = None
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only queues this extension is an agent of."
    )


class QueueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    number: str | None
    strategy: str
    agent_ring_time: int
    max_wait: int
    max_callers: int | None
    wrap_up: int
    announce_position: bool
    announce_hold_time: bool
    announce_interval: int
    intro_media_id: str | None
    moh_class_id: str | None
    join_empty: bool
    timeout_destination: dict[str, Any] | None
    full_destination: dict[str, Any] | None
    empty_destination: dict[str, Any] | None
    manager_ids: list[str]
    sla_seconds: int
    callback_enabled: bool
    record: bool
    created_at: datetime
    updated_at: datetime

    @computed_field(description="The 3CX code of `strategy` (null when 3CX has no equivalent).")  # type: ignore[prop-decorator]
    @property
    def polling_strategy(self) -> int | None:
        strategy = queue_strategies.BY_NAME.get(self.strategy)
        return strategy.polling_strategy if strategy is not None else None


# ---------------------------------------------------------------------------------------------------- agents
class AgentCreate(StrictModel):
    extension_id: ObjId | None = Field(default=None, description="An extension of this tenant…")
    external_number: E164 | None = Field(default=None, description="…or an outside number (exactly one of the two).")
    kind: AgentKind = Field(
        default="static",
        description="static: configured by an administrator; dynamic: joined by the agent (e.g. by feature code).",
    )
    agent_type: AgentType | None = Field(
        default=None,
        description="MiRTA agent type: NF, AD, NFR, ADR for extensions (default NF); EA, EANM, EAC, EANMC, CU, "
        "CUNM, CC, CUFF for outside numbers (default EA).",
    )
    penalty: Penalty = 0
    position: Position | None = Field(default=None, description="Default: after the last agent.")
    logged_in: bool = True
    paused: bool = Field(default=False, description="Add the agent paused (needs `logged_in`).")
    pause_reason: PauseReason | None = None


class AgentUpdate(StrictModel):
    kind: AgentKind | None = None
    agent_type: AgentType | None = None
    penalty: Penalty | None = None
    position: Position | None = None


class PauseIn(StrictModel):
    reason: PauseReason | None = Field(default=None, description="Why (e.g. lunch); shown to supervisors.")


class AgentPauseIn(StrictModel):
    queue_id: ObjId | None = Field(default=None, description="Only this queue; default: every queue of the agent.")
    reason: PauseReason | None = None


class AgentUnpauseIn(StrictModel):
    queue_id: ObjId | None = Field(default=None, description="Only this queue; default: every queue of the agent.")


class AgentFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    kind: AgentKind | None = None
    logged_in: bool | None = None
    paused: bool | None = None


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    queue_id: str
    extension_id: str | None
    external_number: str | None
    kind: str
    agent_type: str
    penalty: int
    position: int
    logged_in: bool
    paused: bool
    pause_reason: str | None
    state_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AgentQueueOut(BaseModel):
    """One queue of an agent (MiRTA AGENT listqueues) with the agent's state there."""

    queue_id: str
    queue_name: str
    queue_number: str | None
    agent_id: str
    kind: str
    agent_type: str
    penalty: int
    position: int
    logged_in: bool
    paused: bool
    pause_reason: str | None
    state_changed_at: datetime | None
