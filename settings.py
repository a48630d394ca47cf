"""The one place NexJob reads its configuration: environment variables (or a `.env` file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent

TASK_QUEUE = "nexjob"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    nexjob_env: str = "dev"  # dev | test | production
    # Empty means "use the embedded PostgreSQL that `make dev` starts under .nexjob/".
    database_url: str = ""
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://localhost:8233"
    public_url: str = "http://localhost:8000"
    data_dir: Path = ROOT / ".nexjob"
    api_workers: int = 2  # uvicorn processes `make dev` runs: one per core on a small machine

    # Providers: a real key sends that provider's calls to the real service; left empty, to the sandbox.
    sandbox_url: str = "http://localhost:8010"
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    resend_api_key: str = ""
    gemini_api_key: str = ""
    anthropic_api_key: str = ""
    google_maps_api_key: str = ""
    # QuickBooks Online: the Intuit app's OAuth client (empty: the sandbox's stand-in), and which Intuit
    # environment it belongs to ("sandbox": Intuit's own test companies).
    quickbooks_client_id: str = ""
    quickbooks_client_secret: str = ""
    quickbooks_environment: Literal["production", "sandbox"] = "production"
    email_from: str = "NexJob <notifications@nexjob.dev>"
    ai_daily_budget_cents: int = 500  # platform default; Company.ai_daily_budget_cents overrides it
    ai_concurrency_cap: int = 5  # AI calls at once per company, across all processes

    # Signs the customers' private links (quote pages, tracking). Anyone who knows it can forge them:
    # production must set its own.
    secret_key: str = "nexjob-dev-secret-not-for-production"

    session_days: int = 14
    # Failed logins per email before each further attempt is refused for a while.
    login_free_attempts: int = 5
    login_free_attempts_per_address: int = 30  # many emails from one address: a password spray
    login_lockout_seconds: int = 60

    @field_validator("database_url")
    @classmethod
    def _use_psycopg_driver(cls, url: str) -> str:
        # Accept the plain libpq form people paste; SQLAlchemy needs the driver named.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        return url

    @model_validator(mode="after")
    def _real_providers_in_production(self):
        # Without these the platform would fall back to the sandbox, whose signing secrets are public:
        # anyone could forge a payment or an opt-out. AI keys may be missing: that AI provider is skipped.
        if self.nexjob_env == "production":
            required = (
                "database_url",
                "stripe_api_key",
                "stripe_webhook_secret",
                "twilio_account_sid",
                "twilio_auth_token",
                "resend_api_key",
                "google_maps_api_key",
            )
            missing = [name.upper() for name in required if not getattr(self, name)]
            if self.secret_key == Settings.model_fields["secret_key"].default:
                missing.append("SECRET_KEY (its own, not the development default)")
            if missing:
                raise ValueError(f"NEXJOB_ENV=production needs {', '.join(missing)}")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
