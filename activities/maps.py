"""Google Maps: geocoding addresses and drive times between points."""

from dataclasses import dataclass

import googlemaps
from googlemaps import exceptions as maps_errors
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import is_final

ADDRESS_NOT_FOUND = "AddressNotFound"
MAPS_REJECTED = "MapsRejected"
MAPS_ERRORS = [ADDRESS_NOT_FOUND, MAPS_REJECTED]


@dataclass
class Point:
    lat: float
    lng: float


@dataclass
class Geocoded:
    lat: float
    lng: float
    formatted_address: str


@dataclass
class MatrixRequest:
    origins: list[Point]
    destinations: list[Point]


@dataclass
class Matrix:
    seconds: list[list[int]]  # [origin][destination]
    metres: list[list[int]]


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except maps_errors.HTTPError as error:
        if is_final(int(error.status_code)):
            raise ApplicationError(str(error), type=MAPS_REJECTED, non_retryable=True) from None
        raise
    except maps_errors.ApiError as error:
        if error.status in ("INVALID_REQUEST", "REQUEST_DENIED"):
            raise ApplicationError(str(error), type=MAPS_REJECTED, non_retryable=True) from None
        raise  # OVER_QUERY_LIMIT, UNKNOWN_ERROR: worth another try


class MapsActivities:
    def __init__(self, client: googlemaps.Client):
        self._maps = client

    @activity.defn
    def geocode_address(self, address: str) -> Geocoded:
        results = _call(self._maps.geocode, address)
        if not results:
            raise ApplicationError(
                f"no place found for {address!r}", type=ADDRESS_NOT_FOUND, non_retryable=True
            )
        best = results[0]
        location = best["geometry"]["location"]
        return Geocoded(location["lat"], location["lng"], best.get("formatted_address", address))

    @activity.defn
    def distance_matrix(self, request: MatrixRequest) -> Matrix:
        answer = _call(
            self._maps.distance_matrix,
            [(p.lat, p.lng) for p in request.origins],
            [(p.lat, p.lng) for p in request.destinations],
            mode="driving",
        )
        seconds, metres = [], []
        for row in answer["rows"]:
            # An unreachable pair gets no number; a large one keeps routing code simple and honest.
            seconds.append(
                [e["duration"]["value"] if e["status"] == "OK" else 10**7 for e in row["elements"]]
            )
            metres.append([e["distance"]["value"] if e["status"] == "OK" else 10**8 for e in row["elements"]])
        return Matrix(seconds, metres)
