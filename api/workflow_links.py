"""Workflow ids derived from records, and links to them in the Temporal Web UI."""

from urllib.parse import quote

from settings import Settings


def workflow_id(entity_type: str, entity_id) -> str:
    return f"{entity_type}-{entity_id}"


def workflow_url(settings: Settings, wf_id: str) -> str:
    return (
        f"{settings.temporal_ui_url}/namespaces/{quote(settings.temporal_namespace)}/workflows/{quote(wf_id)}"
    )
