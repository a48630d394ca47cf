"""A one-step workflow that asks the AI gateway through `workflows.ai.generate_text`, as features do."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ai import AiRequest, AiResult
    from workflows.ai import generate_text


@workflow.defn
class AiProbeWorkflow:
    @workflow.run
    async def run(self, request: AiRequest) -> AiResult:
        return await generate_text(request)
