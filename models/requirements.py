"""What a piece of work needs from the schedule: the skills of its services and how long it takes."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.catalog import Service
from models.slots import skill_set

DEFAULT_DURATION = timedelta(hours=1)  # work with no catalogue service behind it


@dataclass(frozen=True)
class Needs:
    skills: frozenset[str]
    duration: timedelta


async def requirements_of(session: AsyncSession, lines: Sequence) -> Needs:
    """The skills and time of the lines' catalogue services: each service's duration per unit ordered."""
    service_ids = {line.service_id for line in lines if line.service_id is not None}
    services = {}
    if service_ids:
        rows = await session.exec(select(Service).where(col(Service.id).in_(service_ids)))
        services = {service.id: service for service in rows}
    minutes, skills = 0, set()
    for line in lines:
        service = services.get(line.service_id)
        if service is None:
            continue
        minutes += service.default_duration_minutes * math.ceil(line.quantity)
        if service.required_skill:
            skills.add(service.required_skill)
    return Needs(skill_set(skills), timedelta(minutes=minutes) if minutes else DEFAULT_DURATION)
