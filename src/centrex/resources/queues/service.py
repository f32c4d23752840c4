"""Queue rules (a number in the tenant's one number space, a named strategy or its 3CX code, checked destinations,
media and managers, no static loops) and agent rules: agents are extensions of the tenant or outside numbers, once
per queue, with a MiRTA agent type that fits; their state (logged in, paused with a reason) changes only through
the state actions, per queue or across all of an extension's queues (3CX ext.queue.set / ext.queueglobal.set, MiRTA
AGENT pause/unpause/listqueues/del), and every change of state emits ``queue_agent.state_changed``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select

from centrex.api.pagination import PageParams, PageResult
from centrex.callflow.loader import ensure_no_static_loop
from centrex.db.models.extension import Extension
from centrex.db.models.media import MediaFile, MohClass
from centrex.db.models.queues import Queue, QueueAgent
from centrex.db.types import utcnow
from centrex.domain import queue_strategies
from centrex.domain.errors import Conflict, Duplicate, InvalidInput, LimitExceeded, NotFound
from centrex.domain.ids import looks_like_id
from centrex.domain.tenancy import TenantScope
from centrex.resources import destinations, dialplan
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.extension_groups.members import (
    AgentSet,
    ManagerSet,
    check_exists,
    check_extensions,
    resolve,
)
from centrex.resources.queues.schemas import (
    DESTINATIONS,
    EXTENSION_AGENT_TYPES,
    EXTERNAL_AGENT_TYPES,
    NOT_NULL,
    SIMPLE,
    AgentCreate,
    AgentFilters,
    AgentOut,
    AgentQueueOut,
    AgentUpdate,
    QueueCreate,
    QueueFilters,
    QueueOut,
    QueueUpdate,
)
from centrex.resources.service import ResourceService

MAX_AGENTS = 500
StateAction = Literal["login", "logout", "pause", "unpause"]


class QueueRepository(TenantRepository[Queue]):
    model = Queue
    sortable = {"name": Queue.name, "number": Queue.number}
    default_sort = "number"


class QueueAgentRepository(TenantRepository[QueueAgent]):
    model = QueueAgent
    sortable = {"position": QueueAgent.position, "penalty": QueueAgent.penalty}
    default_sort = "position"


def _strategy(name: str | None, code: int | None) -> str | None:
    try:
        return queue_strategies.resolve(name, code)
    except queue_strategies.UnknownStrategy as exc:
        raise InvalidInput.field("polling_strategy" if code is not None else "strategy", str(exc)) from None


class QueueService(ResourceService[Queue]):
    repository = QueueRepository
    out_model = QueueOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, QueueFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.number:
            conds.append(Queue.number == filters.number)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(Queue.number.like(like), func.lower(Queue.name).like(like)))
        if filters.strategy:
            conds.append(Queue.strategy == filters.strategy)
        if filters.extension_id:
            agents = select(QueueAgent.queue_id).where(
                QueueAgent.tenant_id == scope.tenant_id, QueueAgent.extension_id == filters.extension_id
            )
            conds.append(Queue.id.in_(agents))
        return conds

    async def _refs(self, scope: TenantScope, data: QueueCreate | QueueUpdate, given: set[str]) -> None:
        if "intro_media_id" in given:
            await check_exists(self.session, scope, MediaFile, data.intro_media_id, "intro_media_id")
        if "moh_class_id" in given:
            await check_exists(self.session, scope, MohClass, data.moh_class_id, "moh_class_id")
        if "manager_ids" in given and data.manager_ids:
            await check_extensions(self.session, scope, data.manager_ids, "manager_ids")

    async def create(self, scope: TenantScope, data: QueueCreate) -> Queue:
        strategy = _strategy(data.strategy, data.polling_strategy) or queue_strategies.DEFAULT
        await dialplan.ensure_free(self.session, scope, data.number)
        await self._refs(scope, data, set(QueueCreate.model_fields))
        queue = Queue(
            tenant_id=scope.tenant_id,
            number=data.number,
            strategy=strategy,
            intro_media_id=data.intro_media_id,
            moh_class_id=data.moh_class_id,
            manager_ids=list(data.manager_ids),
            **data.model_dump(include=set(SIMPLE)),
        )
        for name in DESTINATIONS:
            setattr(queue, name, await destinations.check(self.session, scope, getattr(data, name), name))
        self.repo.add(queue)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return queue

    async def update(self, scope: TenantScope, obj_id: str, data: QueueUpdate, if_match: str | None) -> Queue:
        queue = await self.get(scope, obj_id)
        check_etag(queue, if_match)
        given = set(data.model_fields_set)
        for name in NOT_NULL:
            if name in given and getattr(data, name) is None:
                raise InvalidInput.field(name, "cannot be null")
        changes: dict[str, Any] = {}
        strategy = _strategy(
            data.strategy if "strategy" in given else None,
            data.polling_strategy if "polling_strategy" in given else None,
        )
        if strategy is not None:
            changes["strategy"] = strategy
        elif {"strategy", "polling_strategy"} & given:
            raise InvalidInput.field("strategy", "cannot be null")
        if "number" in given and data.number != queue.number:
            assert data.number is not None
            await dialplan.ensure_free(self.session, scope, data.number, queue.id)
            changes["number"] = data.number
        await self._refs(scope, data, given)
        for name in ("intro_media_id", "moh_class_id"):
            if name in given:
                changes[name] = getattr(data, name)
        if "manager_ids" in given and data.manager_ids is not None:
            changes["manager_ids"] = list(data.manager_ids)
        for name in DESTINATIONS:
            if name in given:
                changes[name] = await destinations.check(self.session, scope, getattr(data, name), name)
        changes.update(data.model_dump(include=given & SIMPLE))
        apply_changes(queue, changes)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return queue

    async def set_managers(self, scope: TenantScope, obj_id: str, body: ManagerSet, if_match: str | None) -> Queue:
        """Replace the managers (3CX queue.managers.set): extension ids or numbers, in the given order."""
        queue = await self.get(scope, obj_id)
        check_etag(queue, if_match)
        resolved = await resolve(self.session, scope, body.managers, "managers", external=False)
        apply_changes(queue, {"manager_ids": [r.key for r in resolved]})
        await self.session.flush()
        return queue

    async def before_delete(self, scope: TenantScope, obj: Queue) -> None:
        # The agents go with the queue; deleting them one by one records each removal (audit, events).
        agents = (await self.session.execute(select(QueueAgent).where(QueueAgent.queue_id == obj.id))).scalars()
        for agent in agents:
            await self.session.delete(agent)
        await self.session.flush()


class QueueAgentService(ResourceService[QueueAgent]):
    """The agents of the tenant's queues (``/queues/{id}/agents``) and of its extensions (``/agents/{ext}``)."""

    repository = QueueAgentRepository
    out_model = AgentOut

    async def queue(self, scope: TenantScope, queue_id: str) -> Queue:
        return await QueueRepository(self.session).get(scope, queue_id)

    async def extension(self, scope: TenantScope, key: str) -> Extension:
        """An extension of the tenant by id or by number (MiRTA names agents by extension number)."""
        column = Extension.id if looks_like_id(key) else Extension.number
        ext = await self.session.scalar(
            select(Extension).where(Extension.tenant_id == scope.tenant_id, column == key).limit(1)
        )
        if ext is None:
            raise NotFound.of("extension", key)
        return ext

    # ------------------------------------------------------------------------------------------ membership
    async def page(
        self, scope: TenantScope, queue_id: str, filters: AgentFilters, page: PageParams
    ) -> PageResult[QueueAgent]:
        await self.queue(scope, queue_id)
        conds: list[ColumnElement[bool]] = [QueueAgent.queue_id == queue_id]
        if filters.extension_id:
            conds.append(QueueAgent.extension_id == filters.extension_id)
        if filters.kind:
            conds.append(QueueAgent.kind == filters.kind)
        if filters.logged_in is not None:
            conds.append(QueueAgent.logged_in == filters.logged_in)
        if filters.paused is not None:
            conds.append(QueueAgent.paused == filters.paused)
        return await self.repo.page(scope, page, *conds)

    async def agent(self, scope: TenantScope, queue_id: str, agent_id: str) -> QueueAgent:
        await self.queue(scope, queue_id)
        agent = await self.repo.find(scope, QueueAgent.id == agent_id, QueueAgent.queue_id == queue_id)
        if agent is None:
            raise NotFound.of("queue_agent", agent_id)
        return agent

    async def _agents_of_queue(self, queue_id: str) -> list[QueueAgent]:
        stmt = select(QueueAgent).where(QueueAgent.queue_id == queue_id).order_by(QueueAgent.position, QueueAgent.id)
        return list((await self.session.execute(stmt)).scalars())

    @staticmethod
    def _check_type(agent_type: str, external: bool) -> None:
        allowed = EXTERNAL_AGENT_TYPES if external else EXTENSION_AGENT_TYPES
        if agent_type not in allowed:
            target = "an outside number" if external else "an extension"
            raise InvalidInput.field(
                "agent_type", f"{agent_type} does not fit {target}; use one of {', '.join(allowed)}"
            )

    async def add(self, scope: TenantScope, queue_id: str, data: AgentCreate) -> QueueAgent:
        queue = await self.queue(scope, queue_id)
        if (data.extension_id is None) == (data.external_number is None):
            raise InvalidInput.field("extension_id", "give either extension_id or external_number (exactly one)")
        external = data.external_number is not None
        agent_type = data.agent_type or ("EA" if external else "NF")
        self._check_type(agent_type, external)
        if data.paused and not data.logged_in:
            raise InvalidInput.field("paused", "a logged-out agent cannot be paused")
        if data.pause_reason is not None and not data.paused:
            raise InvalidInput.field("pause_reason", "only for an agent added paused")
        if data.extension_id is not None:
            await check_extensions(self.session, scope, [data.extension_id], "extension_id", ["extension_id"])
        existing = await self._agents_of_queue(queue.id)
        for other in existing:
            if data.extension_id is not None and other.extension_id == data.extension_id:
                raise Duplicate("this extension is already an agent of the queue", field="extension_id", id=other.id)
            if external and other.external_number == data.external_number:
                raise Duplicate("this number is already an agent of the queue", field="external_number", id=other.id)
        if len(existing) >= MAX_AGENTS:
            raise LimitExceeded(f"a queue has at most {MAX_AGENTS} agents", limit="agents")
        position = data.position if data.position is not None else max((a.position for a in existing), default=-1) + 1
        agent = QueueAgent(
            tenant_id=scope.tenant_id,
            queue_id=queue.id,
            extension_id=data.extension_id,
            external_number=data.external_number,
            kind=data.kind,
            agent_type=agent_type,
            penalty=data.penalty,
            position=position,
            logged_in=data.logged_in,
            paused=data.paused,
            pause_reason=data.pause_reason if data.paused else None,
            state_changed_at=utcnow(),
        )
        self.repo.add(agent)
        await self.session.flush()
        return agent

    async def change(
        self, scope: TenantScope, queue_id: str, agent_id: str, data: AgentUpdate, if_match: str | None
    ) -> QueueAgent:
        agent = await self.agent(scope, queue_id, agent_id)
        check_etag(agent, if_match)
        given = data.model_fields_set
        for name in given:
            if getattr(data, name) is None:
                raise InvalidInput.field(name, "cannot be null")
        if data.agent_type is not None:
            self._check_type(data.agent_type, agent.extension_id is None)
        apply_changes(agent, data.model_dump(include=given))
        await self.session.flush()
        return agent

    async def remove(self, scope: TenantScope, queue_id: str, agent_id: str, if_match: str | None) -> None:
        agent = await self.agent(scope, queue_id, agent_id)
        check_etag(agent, if_match)
        await self.repo.delete(agent)

    async def replace(self, scope: TenantScope, queue_id: str, body: AgentSet) -> list[QueueAgent]:
        """Make the agent set exactly the list (3CX queue.agents.set), in that order. Agents that stay keep their
        type, penalty and state; new ones are static, logged in; the others are removed."""
        queue = await self.queue(scope, queue_id)
        resolved = await resolve(self.session, scope, body.agents, "agents", external=True)
        current = {a.extension_id or a.external_number: a for a in await self._agents_of_queue(queue.id)}
        wanted = {r.key for r in resolved}
        for key, agent in current.items():
            if key not in wanted:
                await self.session.delete(agent)
        await self.session.flush()  # free the (queue, extension) pairs before adding
        out: list[QueueAgent] = []
        for position, item in enumerate(resolved):
            existing = current.get(item.key)
            if existing is not None:
                apply_changes(existing, {"position": position})
                agent = existing
            else:
                external = item.extension is None
                agent = QueueAgent(
                    tenant_id=scope.tenant_id,
                    queue_id=queue.id,
                    extension_id=item.extension.id if item.extension is not None else None,
                    external_number=item.external_number,
                    kind="static",
                    agent_type="EA" if external else "NF",
                    penalty=0,
                    position=position,
                    logged_in=True,
                    paused=False,
                    state_changed_at=utcnow(),
                )
                self.repo.add(agent)
            out.append(agent)
        await self.session.flush()
        return out

    # ------------------------------------------------------------------------------------------ state
    def _transition(self, agent: QueueAgent, action: StateAction, reason: str | None) -> bool:
        """Apply one state action; True when the state changed. 409 when the action is impossible."""
        before = (agent.logged_in, agent.paused, agent.pause_reason)
        if action == "login":
            changes: dict[str, Any] = {"logged_in": True}
        elif action == "logout":
            changes = {"logged_in": False, "paused": False, "pause_reason": None}
        else:
            if not agent.logged_in:
                raise Conflict(f"agent {agent.id} is logged out: log in before {action}ing", agent_id=agent.id)
            if action == "pause":
                changes = {"paused": True, "pause_reason": reason}
            else:
                changes = {"paused": False, "pause_reason": None}
        apply_changes(agent, changes)
        if (agent.logged_in, agent.paused, agent.pause_reason) == before:
            return False
        agent.state_changed_at = utcnow()
        self.uow.mark(agent, action)
        return True

    def _emit(self, scope: TenantScope, agent: QueueAgent, action: StateAction) -> None:
        self.uow.emit(
            "queue_agent.state_changed",
            resource_type="queue_agent",
            resource_id=agent.id,
            data={
                "id": agent.id,
                "action": action,
                "queue_id": agent.queue_id,
                "extension_id": agent.extension_id,
                "external_number": agent.external_number,
                "logged_in": agent.logged_in,
                "paused": agent.paused,
                "pause_reason": agent.pause_reason,
                "state_changed_at": agent.state_changed_at.isoformat() if agent.state_changed_at else None,
            },
            tenant_id=scope.tenant_id,
            tenant_path=scope.tenant_path,
        )

    async def _apply(
        self, scope: TenantScope, agents: Sequence[QueueAgent], action: StateAction, reason: str | None = None
    ) -> None:
        changed = [a for a in agents if self._transition(a, action, reason)]
        await self.session.flush()
        for agent in changed:
            self._emit(scope, agent, action)

    async def set_state(
        self,
        scope: TenantScope,
        queue_id: str,
        agent_id: str,
        action: StateAction,
        reason: str | None,
        if_match: str | None,
    ) -> QueueAgent:
        """Log one agent in or out of its queue, or pause/unpause it there (3CX ext.queue.set)."""
        agent = await self.agent(scope, queue_id, agent_id)
        check_etag(agent, if_match)
        await self._apply(scope, [agent], action, reason)
        return agent

    async def _of_extension(self, scope: TenantScope, ext: Extension, queue_id: str | None) -> list[QueueAgent]:
        stmt = select(QueueAgent).where(QueueAgent.tenant_id == scope.tenant_id, QueueAgent.extension_id == ext.id)
        if queue_id is not None:
            stmt = stmt.where(QueueAgent.queue_id == queue_id)
        return list((await self.session.execute(stmt.order_by(QueueAgent.queue_id))).scalars())

    async def _targets(self, scope: TenantScope, ext_key: str, queue_id: str | None) -> list[QueueAgent]:
        ext = await self.extension(scope, ext_key)
        if queue_id is not None:
            queue = await QueueRepository(self.session).reference(scope, queue_id, "queue_id")
            agents = await self._of_extension(scope, ext, queue.id)
            if not agents:
                raise Conflict(f"extension {ext.number} is not an agent of queue {queue.number or queue.id}")
            return agents
        agents = await self._of_extension(scope, ext, None)
        if not agents:
            raise Conflict(f"extension {ext.number} is not an agent of any queue")
        return agents

    async def extension_login(self, scope: TenantScope, ext_key: str, login: bool) -> list[QueueAgent]:
        """Log an extension in (or out) of every queue it is an agent of (3CX ext.queueglobal.set)."""
        agents = await self._targets(scope, ext_key, None)
        await self._apply(scope, agents, "login" if login else "logout")
        return agents

    async def extension_pause(
        self, scope: TenantScope, ext_key: str, queue_id: str | None, pause: bool, reason: str | None = None
    ) -> list[QueueAgent]:
        """Pause (or unpause) an extension in one queue or in all the queues where it is logged in (MiRTA AGENT
        pause/unpause with ``queue=ALL``); 409 when it is logged in nowhere among them."""
        agents = await self._targets(scope, ext_key, queue_id)
        active = [a for a in agents if a.logged_in]
        if not active:
            raise Conflict("the agent is logged out of " + ("this queue" if queue_id else "all its queues"))
        await self._apply(scope, active, "pause" if pause else "unpause", reason)
        return agents

    async def extension_queues(self, scope: TenantScope, ext_key: str) -> list[AgentQueueOut]:
        """The queues an extension is an agent of, with its state in each (MiRTA AGENT listqueues)."""
        ext = await self.extension(scope, ext_key)
        rows = await self.session.execute(
            select(QueueAgent, Queue.name, Queue.number)
            .join(Queue, Queue.id == QueueAgent.queue_id)
            .where(QueueAgent.tenant_id == scope.tenant_id, QueueAgent.extension_id == ext.id)
            .order_by(Queue.number, Queue.id)
        )
        return [
            AgentQueueOut(
                queue_id=agent.queue_id,
                queue_name=name,
                queue_number=number,
                agent_id=agent.id,
                kind=agent.kind,
                agent_type=agent.agent_type,
                penalty=agent.penalty,
                position=agent.position,
                logged_in=agent.logged_in,
                paused=agent.paused,
                pause_reason=agent.pause_reason,
                state_changed_at=agent.state_changed_at,
            )
            for agent, name, number in rows
        ]

    async def extension_remove(self, scope: TenantScope, ext_key: str, queue_id: str | None) -> int:
        """Remove an extension from one queue or from all its queues (MiRTA AGENT del); the number removed."""
        ext = await self.extension(scope, ext_key)
        if queue_id is not None:
            await QueueRepository(self.session).get(scope, queue_id)
        agents = await self._of_extension(scope, ext, queue_id)
        if not agents:
            raise NotFound(f"extension {ext.number} is not an agent of " + ("this queue" if queue_id else "any queue"))
        for agent in agents:
            await self.session.delete(agent)
        await self.session.flush()
        return len(agents)
