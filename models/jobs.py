"""Jobs (the work itself), and the time technicians log against them."""

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import ValidationInfo, field_validator
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlmodel import Field, Index, SQLModel

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import JobStatus
from models.line_items import LineItemIn, LineItemPublic
from models.time import local_window
from models.validation import UtcDateTime


class JobBase(SQLModel):
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    title: str = Field(min_length=1, max_length=200)
    description: str | None = None
    assigned_user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", index=True)
    scheduled_start: UtcDateTime | None = timestamp()
    scheduled_end: UtcDateTime | None = timestamp()
    address: str | None = None
    city: str | None = Field(default=None, max_length=120)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    property_id: uuid.UUID | None = Field(default=None, foreign_key="property.id")
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id")


class Job(JobBase, table=True):
    __table_args__ = (
        # The dispatch board and job list read a company's jobs by status in schedule order.
        Index("ix_job_company_status_start", "company_id", "status", "scheduled_start"),
        # One technician, one place at a time: the database refuses two overlapping jobs on the calendar for
        # the same person, whoever books them (customers racing for a slot, or the office). Needs btree_gist.
        ExcludeConstraint(
            (sa.column("assigned_user_id"), "="),
            (sa.func.tstzrange(sa.column("scheduled_start"), sa.column("scheduled_end")), "&&"),
            name="job_technician_no_overlap",
            using="gist",
            where=sa.text(
                "assigned_user_id IS NOT NULL AND scheduled_start IS NOT NULL "
                "AND scheduled_end IS NOT NULL AND status NOT IN ('cancelled', 'unscheduled')"
            ),
        ),
    )
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    status: JobStatus = Field(default=JobStatus.unscheduled, sa_type=enum_type(JobStatus))
    quote_id: uuid.UUID | None = Field(default=None, foreign_key="quote.id", index=True)
    assignment_reason: str | None = None  # why agentic scheduling chose this technician, in plain words
    completed_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True)


def job_window(job: "Job", timezone: str) -> str:
    """When the job is, as the company's clock shows it ("Tuesday, December 1, 9:00 AM – 11:00 AM")."""
    if job.scheduled_start is None:
        return "time to be arranged"
    end = job.scheduled_end or job.scheduled_start + timedelta(hours=1)
    return local_window(job.scheduled_start, end, timezone)


def window_error(start: datetime | None, end: datetime | None) -> str | None:
    """Why a schedule window is unusable, or None when it is fine."""
    if end is not None and start is None:
        return "scheduled_end needs a scheduled_start"
    if start is not None and end is not None and end <= start:
        return "scheduled_end must be after scheduled_start"
    return None


class JobCreate(JobBase):
    line_items: list[LineItemIn] = Field(default_factory=list)

    @field_validator("scheduled_end")
    @classmethod
    def _after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        # A field validator, so the error names scheduled_end and forms can show it beside that field.
        if error := window_error(info.data.get("scheduled_start"), end):
            raise ValueError(error)
        return end


class JobUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    assigned_user_id: uuid.UUID | None = None
    description: str | None = None
    scheduled_start: UtcDateTime | None = None
    scheduled_end: UtcDateTime | None = None
    address: str | None = None
    city: str | None = Field(default=None, max_length=120)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    property_id: uuid.UUID | None = None
    line_items: list[LineItemIn] | None = None


class JobSummary(JobBase):
    """A job as lists show it."""

    id: uuid.UUID
    status: JobStatus
    quote_id: uuid.UUID | None
    assignment_reason: str | None
    completed_at: datetime | None
    created_at: datetime


class JobPublic(JobSummary):
    """One job in full: its lines and its workflow in the Temporal UI."""

    line_items: list[LineItemPublic] = []
    workflow_id: str
    workflow_url: str


class TimeEntry(SQLModel, table=True):
    __tablename__ = "time_entry"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    job_id: uuid.UUID | None = Field(default=None, foreign_key="job.id", index=True)
    started_at: datetime = timestamp(nullable=False)
    ended_at: datetime | None = timestamp()
    notes: str | None = None


class TechnicianPosition(SQLModel, table=True):
    """Where a technician's device last said they were: the customer's tracking page shows it."""

    __tablename__ = "technician_position"
    user_id: uuid.UUID = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    company_id: uuid.UUID = company_field()
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    recorded_at: datetime = timestamp(nullable=False)


class PositionReport(SQLModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
