"""Shared steps of the plain CRUD routes: pages, creating and updating owned rows with an audit trail."""

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from api.principal import Principal
from api.tenancy import check_references
from models.logs import AuditLog

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int  # rows matching the filters, across all pages


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0


async def _page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="rows per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="rows to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]


async def fetch_page(
    session: AsyncSession, stmt: SelectOfScalar[M], page: PageParams, *order_by
) -> tuple[list[M], int]:
    """One page of `stmt` (a filtered select of one table) and how many rows match in all."""
    # The total rides along on every row (a window count): one round trip for the page and its count.
    model = stmt.column_descriptions[0]["entity"]
    paged = select(model, func.count().over())
    if stmt.whereclause is not None:
        paged = paged.where(stmt.whereclause)
    found = (await session.exec(paged.order_by(*order_by).limit(page.limit).offset(page.offset))).all()
    if found:
        return [row for row, _ in found], found[0][1]
    # An empty page (past the end, or no matches): count on its own.
    count = (await session.exec(select(func.count()).select_from(stmt.order_by(None).subquery()))).one()
    return [], count


def snapshot(row: SQLModel, fields=None) -> dict:
    data = row.model_dump(include=fields)
    return jsonable_encoder(data)


def record_audit(
    session: AsyncSession,
    principal: Principal,
    row: SQLModel,
    action: str,
    before: dict | None,
    after: dict | None,
) -> None:
    session.add(
        AuditLog(
            company_id=principal.company_id,
            actor_user_id=principal.user_id,
            actor=principal.actor,
            entity_type=row.__tablename__,
            entity_id=row.id,
            action=action,
            before=before,
            after=after,
        )
    )


async def create_owned(session: AsyncSession, principal: Principal, model: type[M], values: dict) -> M:
    await check_references(session, principal, values)
    row = model(**values, company_id=principal.company_id)
    session.add(row)
    await session.flush()
    record_audit(session, principal, row, "create", None, snapshot(row))
    return row


async def update_owned(session: AsyncSession, principal: Principal, row: M, changes: dict) -> M:
    """Apply `changes` (a request's set fields) to `row`, with an audit row of before and after."""
    columns = row.__table__.columns
    cleared = [f for f, v in changes.items() if v is None and f in columns and not columns[f].nullable]
    if cleared:
        raise RequestValidationError(
            [
                {"loc": ["body", f], "msg": "may not be empty; leave it out to keep it", "type": "missing"}
                for f in cleared
            ]
        )
    await check_references(session, principal, changes)
    before = snapshot(row, set(changes))
    for field, value in changes.items():
        setattr(row, field, value)
    session.add(row)
    await session.flush()
    record_audit(session, principal, row, "update", before, snapshot(row, set(changes)))
    return row


async def delete_owned(session: AsyncSession, principal: Principal, row: SQLModel) -> None:
    record_audit(session, principal, row, "delete", snapshot(row), None)
    await session.delete(row)
