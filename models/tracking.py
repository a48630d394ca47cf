"""The customer's live tracking link, texted when a job goes On the Way: `/t/{token}`, no login.

The token is signed like the quote link (models/links.py) and names the job and its company, and it
carries the moment it was made: it opens for two hours, then says it has expired. A fresh On the Way
sends a fresh link.
"""

import math
import uuid
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import SQLModel

from models.enums import JobStatus
from settings import Settings

TRACKING_VALID = timedelta(hours=2)
_TRACKING_SALT = "job-tracking"
EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344


class TrackingLinkInvalid(Exception):
    """A forged or mangled tracking token."""


class TrackingLinkExpired(Exception):
    """A genuine tracking token older than TRACKING_VALID; it still names its job, for the page's branding."""

    def __init__(self, job_id: uuid.UUID | None = None, company_id: uuid.UUID | None = None):
        super().__init__("this tracking link has expired")
        self.job_id, self.company_id = job_id, company_id


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_TRACKING_SALT)


def tracking_token(settings: Settings, job_id, company_id) -> str:
    return _serializer(settings).dumps([str(job_id), str(company_id)])


def tracking_url(settings: Settings, job_id, company_id) -> str:
    return f"{settings.public_url.rstrip('/')}/t/{tracking_token(settings, job_id, company_id)}"


def _ids(payload) -> tuple[uuid.UUID, uuid.UUID]:
    job_id, company_id = payload
    return uuid.UUID(job_id), uuid.UUID(company_id)


def read_tracking_token(settings: Settings, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(job id, company id) from a genuine token made less than two hours ago.

    Raises TrackingLinkExpired for an older one and TrackingLinkInvalid for anything forged or mangled.
    """
    serializer = _serializer(settings)
    try:
        return _ids(serializer.loads(token, max_age=int(TRACKING_VALID.total_seconds())))
    except SignatureExpired as expired:
        try:
            ids = _ids(serializer.load_payload(expired.payload))
        except (BadSignature, ValueError, TypeError):
            ids = (None, None)
        raise TrackingLinkExpired(*ids) from None
    except (BadSignature, ValueError, TypeError):
        raise TrackingLinkInvalid() from None


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (as the crow flies) between two points, in kilometres."""
    phi1, lam1, phi2, lam2 = map(math.radians, (lat1, lng1, lat2, lng2))
    h = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin((lam2 - lam1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


class PositionPublic(SQLModel):
    """A technician's last reported position, as the technician's device posted it."""

    user_id: uuid.UUID
    lat: float
    lng: float
    recorded_at: datetime


class TrackingPosition(SQLModel):
    """What the tracking page polls: the job's status and, while On the Way, where the technician is."""

    status: JobStatus
    lat: float | None = None
    lng: float | None = None
    recorded_at: datetime | None = None
    age_seconds: int | None = None
    distance_km: float | None = None  # as the crow flies, to the job's address; None until both are known
