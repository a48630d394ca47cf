"""GeocodeWorkflow: give a customer's or job's address its coordinates, so jobs can be routed.

Workflow id `geocode-{entity type}-{id}`; started by the API whenever an address is saved without
coordinates. A newer save replaces a run still working on the older address. No signals or queries.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.maps import MAPS_ERRORS, MapsActivities
    from activities.records import RecordsActivities, StoreCoordinates


@dataclass
class GeocodeInput:
    company_id: str
    entity_type: str  # customer | job
    entity_id: str
    address: str


@dataclass
class GeocodeResult:
    stored: bool
    lat: float | None = None
    lng: float | None = None


@workflow.defn
class GeocodeWorkflow:
    @workflow.run
    async def run(self, input: GeocodeInput) -> GeocodeResult:
        place = await workflow.execute_activity_method(
            MapsActivities.geocode_address,
            input.address,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=RetryPolicy(
                maximum_interval=timedelta(minutes=1), non_retryable_error_types=MAPS_ERRORS
            ),
        )
        stored = await workflow.execute_activity_method(
            RecordsActivities.store_coordinates,
            StoreCoordinates(
                input.company_id, input.entity_type, input.entity_id, input.address, place.lat, place.lng
            ),
            start_to_close_timeout=timedelta(seconds=15),
        )
        return GeocodeResult(stored, place.lat, place.lng)
