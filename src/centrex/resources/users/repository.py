"""User queries."""

from __future__ import annotations

from sqlalchemy import select

from centrex.db.models.user import User
from centrex.resources.common import TenantRepository


class UserRepository(TenantRepository[User]):
    model = User
    sortable = {"username": User.username, "name": User.name}
    default_sort = "username"

    async def by_username(self, username: str) -> User | None:
        stmt = select(User).where(User.username == username.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()
