"""`python -m sandbox`: serve the provider stand-ins (make dev starts it on port 8010)."""

import os

import uvicorn

from sandbox.app import create_app
from sandbox.context import SandboxContext

PORT = int(os.environ.get("SANDBOX_PORT", "8010"))

if __name__ == "__main__":
    context = SandboxContext(
        api_url=os.environ.get("NEXJOB_API_URL", "http://localhost:8000"),
        public_url=f"http://localhost:{PORT}",
    )
    uvicorn.run(create_app(context), host="127.0.0.1", port=PORT, log_level="warning")
