"""Queues and their agents.

    /api/v1/tenants/{tenant_id}/queues                              queue CRUD (queues.read|create|update|delete)
    PUT    …/queues/{queue_id}/managers                             replace the managers (queues.update)
    GET    …/queues/{queue_id}/agents[/{agent_id}]                  list / read agents (queues.read)
    POST   …/queues/{queue_id}/agents                               add an agent (queues.update)
    PUT    …/queues/{queue_id}/agents                               replace the agent set (queues.update)
    PATCH  …/queues/{queue_id}/agents/{agent_id}                    change type, penalty, position (queues.update)
    DELETE …/queues/{queue_id}/agents/{agent_id}                    remove an agent (queues.update)
    POST   …/queues/{queue_id}/agents/{agent_id}/login|logout|pause|unpause      agent state (queues.agents)
    POST   /api/v1/tenants/{tenant_id}/extensions/{ext}/queue-login|queue-logout   all queues of an extension
    GET    /api/v1/tenants/{tenant_id}/agents/{ext}/queues          an extension's queues and state (queues.read)
    POST   /api/v1/tenants/{tenant_id}/agents/{ext}/pause|unpause   in one or all queues (queues.agents)
    DELETE /api/v1/tenants/{tenant_id}/agents/{ext}[?queue_id=]     remove from one or all queues (queues.update)

``{ext}`` is an extension id or number. Membership is configuration (``queues.update``); logging in, out and
pausing is the separate ``queues.agents`` permission, so that it can be granted without the right to reconfigure.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.extension_groups.members import AgentSet, Listing, ManagerSet
from centrex.resources.queues.schemas import (
    AgentCreate,
    AgentFilters,
    AgentOut,
    AgentPauseIn,
    AgentQueueOut,
    AgentUnpauseIn,
    AgentUpdate,
    PauseIn,
    QueueCreate,
    QueueFilters,
    QueueOut,
    QueueUpdate,
)
from centrex.resources.queues.service import QueueAgentService, QueueService, StateAction

TAG = {
    "name": "queues",
    "description": "Call queues (ACD): callers wait for agents chosen by a strategy; agents log in, out and pause "
    "per queue or in all their queues.",
}

queues = tenant_router(
    ResourceSpec(
        plural="queues",
        service=QueueService,
        create=QueueCreate,
        update=QueueUpdate,
        filters=QueueFilters,
        singular="queue",
    )
)
agents = APIRouter(prefix="/tenants/{tenant_id}", tags=["queues"], route_class=CentrexRoute)

QueueId = Annotated[str, Path(min_length=1, max_length=40, description="Queue id.")]
AgentId = Annotated[str, Path(min_length=1, max_length=40, description="Agent id.")]
ExtKey = Annotated[str, Path(min_length=1, max_length=40, description="Extension id or number.")]
READ = [Depends(require("queues.read"))]
CONFIGURE = [Depends(require("queues.update"))]
STATE = [Depends(require("queues.agents"))]


async def _queues(uow: UowDep, state: StateDep) -> QueueService:
    return QueueService(uow, state)


async def _agents(uow: UowDep, state: StateDep) -> QueueAgentService:
    return QueueAgentService(uow, state)


QueueSvc = Annotated[QueueService, Depends(_queues)]
AgentSvc = Annotated[QueueAgentService, Depends(_agents)]


def _listing(items: list[Any]) -> Listing[AgentOut]:
    out = [AgentOut.model_validate(a) for a in items]
    return Listing[AgentOut](count=len(out), items=out)


# ------------------------------------------------------------------------------------------------ managers
@queues.put(
    "/{object_id}/managers",
    response_model=QueueOut,
    dependencies=CONFIGURE,
    summary="Replace a queue's managers",
    description='Extension ids or numbers, as `{"managers": [...]}` or a bare JSON array (3CX queue.managers.set).',
)
async def set_queue_managers(
    object_id: ObjectId,
    body: ManagerSet,
    response: Response,
    scope: TenantScopeDep,
    svc: QueueSvc,
    if_match: IfMatch = None,
) -> Any:
    queue = await svc.set_managers(scope, object_id, body, if_match)
    response.headers["ETag"] = queue.etag
    return svc.present(queue)


# -------------------------------------------------------------------------------------------------- agents
@queues.get("/{queue_id}/agents", response_model=Page[AgentOut], dependencies=READ, summary="List a queue's agents")
@cached("queue_agents", "queues")
async def list_queue_agents(
    queue_id: QueueId,
    response: Response,
    scope: TenantScopeDep,
    svc: AgentSvc,
    filters: Annotated[AgentFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    result = await svc.page(scope, queue_id, filters, page)
    return page_body(response, result, svc.present)


@queues.post(
    "/{queue_id}/agents",
    status_code=201,
    response_model=AgentOut,
    dependencies=CONFIGURE,
    summary="Add an agent to a queue",
)
async def add_queue_agent(
    queue_id: QueueId, body: AgentCreate, response: Response, scope: TenantScopeDep, svc: AgentSvc
) -> Any:
    agent = await svc.add(scope, queue_id, body)
    response.headers["Location"] = f"/api/v1/tenants/{scope.tenant_id}/queues/{queue_id}/agents/{agent.id}"
    response.headers["ETag"] = agent.etag
    return svc.present(agent)


@queues.put(
    "/{queue_id}/agents",
    response_model=Listing[AgentOut],
    dependencies=CONFIGURE,
    summary="Replace a queue's agents",
    description="Extension ids, extension numbers or outside numbers (E.164) in agent order, as "
    '`{"agents": [...]}` or a bare JSON array (3CX queue.agents.set; `[]` removes every agent). Agents that stay '
    "keep their type, penalty and state; new ones are static and logged in.",
)
async def replace_queue_agents(queue_id: QueueId, body: AgentSet, scope: TenantScopeDep, svc: AgentSvc) -> Any:
    return _listing(await svc.replace(scope, queue_id, body))


@queues.get("/{queue_id}/agents/{agent_id}", response_model=AgentOut, dependencies=READ, summary="Get a queue agent")
@cached("queue_agents", "queues")
async def get_queue_agent(
    queue_id: QueueId, agent_id: AgentId, response: Response, scope: TenantScopeDep, svc: AgentSvc
) -> Any:
    agent = await svc.agent(scope, queue_id, agent_id)
    response.headers["ETag"] = agent.etag
    return svc.present(agent)


@queues.patch(
    "/{queue_id}/agents/{agent_id}",
    response_model=AgentOut,
    dependencies=CONFIGURE,
    summary="Change an agent's type, penalty or position",
)
async def update_queue_agent(
    queue_id: QueueId,
    agent_id: AgentId,
    body: AgentUpdate,
    response: Response,
    scope: TenantScopeDep,
    svc: AgentSvc,
    if_match: IfMatch = None,
) -> Any:
    agent = await svc.change(scope, queue_id, agent_id, body, if_match)
    response.headers["ETag"] = agent.etag
    return svc.present(agent)


@queues.delete(
    "/{queue_id}/agents/{agent_id}", status_code=204, dependencies=CONFIGURE, summary="Remove an agent from a queue"
)
async def remove_queue_agent(
    queue_id: QueueId, agent_id: AgentId, scope: TenantScopeDep, svc: AgentSvc, if_match: IfMatch = None
) -> Response:
    await svc.remove(scope, queue_id, agent_id, if_match)
    return Response(status_code=204)


async def _state(
    action: StateAction,
    queue_id: str,
    agent_id: str,
    reason: str | None,
    response: Response,
    scope: Any,
    svc: QueueAgentService,
    if_match: str | None,
) -> Any:
    agent = await svc.set_state(scope, queue_id, agent_id, action, reason, if_match)
    response.headers["ETag"] = agent.etag
    return svc.present(agent)


@queues.post(
    "/{queue_id}/agents/{agent_id}/login",
    response_model=AgentOut,
    dependencies=STATE,
    summary="Log an agent in to this queue",
)
async def login_queue_agent(
    queue_id: QueueId,
    agent_id: AgentId,
    response: Response,
    scope: TenantScopeDep,
    svc: AgentSvc,
    if_match: IfMatch = None,
) -> Any:
    return await _state("login", queue_id, agent_id, None, response, scope, svc, if_match)


@queues.post(
    "/{queue_id}/agents/{agent_id}/logout",
    response_model=AgentOut,
    dependencies=STATE,
    summary="Log an agent out of this queue (also ends a pause)",
)
async def logout_queue_agent(
    queue_id: QueueId,
    agent_id: AgentId,
    response: Response,
    scope: TenantScopeDep,
    svc: AgentSvc,
    if_match: IfMatch = None,
) -> Any:
    return await _state("logout", queue_id, agent_id, None, response, scope, svc, if_match)


@queues.post(
    "/{queue_id}/agents/{agent_id}/pause",
    response_model=AgentOut,
    dependencies=STATE,
    summary="Pause a logged-in agent in this queue",
)
async def pause_queue_agent(
    queue_id: QueueId,
    agent_id: AgentId,
    response: Response,
    scope: TenantScopeDep,
    svc: AgentSvc,
    body: PauseIn | None = None,
    if_match: IfMatch = None,
) -> Any:
    reason = body.reason if body is not None else None
    return await _state("pause", queue_id, agent_id, reason, response, scope, svc, if_match)


@queues.post(
    "/{queue_id}/agents/{agent_id}/unpause",
    response_model=AgentOut,
    dependencies=STATE,
    summary="End an agent's pause in this queue",
)
async def unpause_queue_agent(
    queue_id: QueueId,
    agent_id: AgentId,
    response: Response,
    scope: TenantScopeDep,
    svc: AgentSvc,
    if_match: IfMatch = None,
) -> Any:
    return await _state("unpause", queue_id, agent_id, None, response, scope, svc, if_match)


# ------------------------------------------------------------------------ an extension across its queues
@agents.post(
    "/extensions/{extension_id}/queue-login",
    response_model=Listing[AgentOut],
    dependencies=STATE,
    summary="Log an extension in to all its queues",
)
async def extension_queue_login(extension_id: ExtKey, scope: TenantScopeDep, svc: AgentSvc) -> Any:
    return _listing(await svc.extension_login(scope, extension_id, True))


@agents.post(
    "/extensions/{extension_id}/queue-logout",
    response_model=Listing[AgentOut],
    dependencies=STATE,
    summary="Log an extension out of all its queues",
)
async def extension_queue_logout(extension_id: ExtKey, scope: TenantScopeDep, svc: AgentSvc) -> Any:
    return _listing(await svc.extension_login(scope, extension_id, False))


@agents.get(
    "/agents/{extension_id}/queues",
    response_model=Listing[AgentQueueOut],
    dependencies=READ,
    summary="The queues an extension is an agent of, with its state",
)
@cached("queue_agents", "queues", "extensions")
async def agent_queues(extension_id: ExtKey, scope: TenantScopeDep, svc: AgentSvc) -> Any:
    items = await svc.extension_queues(scope, extension_id)
    return Listing[AgentQueueOut](count=len(items), items=items)


@agents.post(
    "/agents/{extension_id}/pause",
    response_model=Listing[AgentOut],
    dependencies=STATE,
    summary="Pause an agent in one queue or in all its queues",
)
async def agent_pause(
    extension_id: ExtKey, scope: TenantScopeDep, svc: AgentSvc, body: AgentPauseIn | None = None
) -> Any:
    body = body or AgentPauseIn()
    return _listing(await svc.extension_pause(scope, extension_id, body.queue_id, True, body.reason))


@agents.post(
    "/agents/{extension_id}/unpause",
    response_model=Listing[AgentOut],
    dependencies=STATE,
    summary="End an agent's pause in one queue or in all its queues",
)
async def agent_unpause(
    extension_id: ExtKey, scope: TenantScopeDep, svc: AgentSvc, body: AgentUnpauseIn | None = None
) -> Any:
    body = body or AgentUnpauseIn()
    return _listing(await svc.extension_pause(scope, extension_id, body.queue_id, False))


@agents.delete(
    "/agents/{extension_id}",
    status_code=204,
    dependencies=CONFIGURE,
    summary="Remove an extension from one queue or from all its queues",
)
async def agent_remove(
    extension_id: ExtKey,
    scope: TenantScopeDep,
    svc: AgentSvc,
    queue_id: Annotated[str | None, Query(max_length=40, description="Only this queue (default: all).")] = None,
) -> Response:
    await svc.extension_remove(scope, extension_id, queue_id)
    return Response(status_code=204)


router = APIRouter()
router.include_router(queues)
router.include_router(agents)
