"""Google Maps stand-in: geocode, distance matrix and directions, deterministic.

Addresses land at a stable point near their city (a hash of the address picks the offset); distances
are the straight line times a road factor, durations that distance at an average town speed.
"""

import hashlib
import itertools
import math

from fastapi import APIRouter, Query, Request

from sandbox.context import SandboxContext

ROAD_FACTOR = 1.3
SPEED_KMH = 40
CITY_CENTRES = {
    "austin": (30.2672, -97.7431),
    "round rock": (30.5083, -97.6789),
    "pflugerville": (30.4394, -97.6200),
    "cedar park": (30.5052, -97.8203),
    "georgetown": (30.6333, -97.6770),
    "leander": (30.5788, -97.8531),
    "kyle": (29.9891, -97.8772),
    "buda": (30.0852, -97.8403),
    "lakeway": (30.3638, -97.9795),
    "hutto": (30.5427, -97.5467),
}
DEFAULT_CENTRE = CITY_CENTRES["austin"]


def geocode_point(address: str) -> tuple[float, float]:
    lowered = address.lower()
    centre = next((c for city, c in CITY_CENTRES.items() if city in lowered), DEFAULT_CENTRE)
    digest = hashlib.sha256(lowered.strip().encode()).digest()
    # Up to ~4 km either way from the centre.
    dlat = (digest[0] / 255 - 0.5) * 0.07
    dlng = (digest[1] / 255 - 0.5) * 0.08
    return round(centre[0] + dlat, 6), round(centre[1] + dlng, 6)


def parse_point(text: str) -> tuple[float, float]:
    """A "lat,lng" pair as the SDK sends coordinates, else an address to geocode."""
    parts = text.split(",")
    if len(parts) == 2:
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            pass
    return geocode_point(text)


def road_metres(a: tuple[float, float], b: tuple[float, float]) -> int:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return round(2 * 6_371_000 * math.asin(math.sqrt(h)) * ROAD_FACTOR)


def drive_seconds(metres: int) -> int:
    return round(metres / (SPEED_KMH * 1000 / 3600))


def _element(a, b) -> dict:
    metres = road_metres(a, b)
    seconds = drive_seconds(metres)
    return {
        "status": "OK",
        "distance": {"value": metres, "text": f"{metres / 1609.344:.1f} mi"},
        "duration": {"value": seconds, "text": f"{round(seconds / 60)} mins"},
    }


def router(context: SandboxContext) -> APIRouter:
    # googlemaps puts its own "/maps/api/…" after the base URL we give it ({sandbox}/maps).
    api = APIRouter(prefix="/maps/maps/api", tags=["google maps"])
    gate = context.controls.gate

    @api.get("/geocode/json")
    async def geocode(address: str = Query("")):
        await gate("maps")
        if not address.strip():
            return {"status": "ZERO_RESULTS", "results": []}
        lat, lng = geocode_point(address)
        place = hashlib.sha256(address.lower().encode()).hexdigest()[:20]
        return {
            "status": "OK",
            "results": [
                {
                    "formatted_address": address.strip(),
                    "geometry": {"location": {"lat": lat, "lng": lng}, "location_type": "ROOFTOP"},
                    "place_id": f"sandbox-{place}",
                    "types": ["street_address"],
                }
            ],
        }

    @api.get("/distancematrix/json")
    async def distance_matrix(origins: str, destinations: str):
        await gate("maps")
        froms = [parse_point(o) for o in origins.split("|")]
        tos = [parse_point(d) for d in destinations.split("|")]
        return {
            "status": "OK",
            "origin_addresses": origins.split("|"),
            "destination_addresses": destinations.split("|"),
            "rows": [{"elements": [_element(a, b) for b in tos]} for a in froms],
        }

    @api.get("/directions/json")
    async def directions(request: Request, origin: str, destination: str, waypoints: str = ""):
        await gate("maps")
        stops = [w for w in waypoints.split("|") if w]
        optimize = bool(stops) and stops[0] == "optimize:true"
        stops = [parse_point(w) for w in (stops[1:] if optimize else stops)]
        start, end = parse_point(origin), parse_point(destination)
        order = list(range(len(stops)))
        if optimize and len(stops) <= 8:

            def length(perm):
                path = [start, *(stops[i] for i in perm), end]
                return sum(road_metres(a, b) for a, b in itertools.pairwise(path))

            order = list(min(itertools.permutations(order), key=length))
        path = [start, *(stops[i] for i in order), end]
        legs = []
        for a, b in itertools.pairwise(path):
            element = _element(a, b)
            legs.append(
                {
                    "distance": element["distance"],
                    "duration": element["duration"],
                    "start_location": {"lat": a[0], "lng": a[1]},
                    "end_location": {"lat": b[0], "lng": b[1]},
                }
            )
        return {"status": "OK", "routes": [{"legs": legs, "waypoint_order": order, "summary": "sandbox"}]}

    return api
