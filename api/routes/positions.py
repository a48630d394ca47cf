"""Where technicians are: their devices post a position while they work a job; the customer's tracking
page (api/tracking.py) shows it."""

import uuid

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.dialects.postgresql import insert

from api.deps import CurrentPrincipal, SessionDep
from api.routes.jobs import _get_visible
from models.base import utcnow
from models.jobs import PositionReport, TechnicianPosition
from models.tracking import PositionPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("/{job_id}/position", response_model=PositionPublic)
async def report_position(
    job_id: uuid.UUID, body: PositionReport, principal: CurrentPrincipal, session: SessionDep
):
    """Record where the job's technician is now (their own device, or the office for them); 409 when
    the job has no technician."""
    job = await _get_visible(session, job_id, principal)  # technicians: their own jobs only
    if job.assigned_user_id is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the job has no technician to place")
    values = {"lat": body.lat, "lng": body.lng, "recorded_at": utcnow(), "company_id": job.company_id}
    upsert = (
        insert(TechnicianPosition)
        .values(user_id=job.assigned_user_id, **values)
        .on_conflict_do_update(index_elements=[TechnicianPosition.user_id], set_=values)
        .returning(*TechnicianPosition.__table__.columns)
    )
    stored = (await session.exec(upsert)).mappings().one()
    await session.commit()
    return PositionPublic.model_validate(dict(stored))
