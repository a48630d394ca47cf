"""Custom search attributes set on every workflow, so the Temporal UI filters by tenant and record.

Example Temporal UI query: `CompanyId = "…" AND EntityType = "invoice"`.
"""

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

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
