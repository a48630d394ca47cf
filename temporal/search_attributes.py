"""Custom search attributes set on every workflow, so the Temporal UI filters by tenant and record.

Example Temporal UI query: `CompanyId = "…" AND EntityType = "invoice"`.
"""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

COMPANY_ID = SearchAttributeKey.for_keyword("CompanyId")
ENTITY_TYPE = SearchAttributeKey.for_keyword("EntityType")
ENTITY_ID = SearchAttributeKey.for_keyword("EntityId")

ALL = (COMPANY_ID, ENTITY_TYPE, ENTITY_ID)


def for_entity(company_id: str, entity_type: str, entity_id: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(COMPANY_ID, company_id),
            SearchAttributePair(ENTITY_TYPE, entity_type),
            SearchAttributePair(ENTITY_ID, entity_id),
        ]
    )


async def ensure_registered(client: Client, namespace: str) -> None:
    """Register our search attributes on a Temporal server we did not start (the dev server gets them
    on its command line). Already there is fine."""
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    request = AddSearchAttributesRequest(
        namespace=namespace, search_attributes={k.name: keyword for k in ALL}
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            raise
