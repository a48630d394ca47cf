"""The official SDK clients, built from settings: a provider with a key talks to the real service, one
without talks to the sandbox. Either way the SDK code path is the production one.

Every client has a timeout and its own retries switched off: Temporal's retry policy decides.
"""

from dataclasses import dataclass

import anthropic
import googlemaps
import resend
import stripe
from google import genai
from google.genai import types as genai_types
from intuitlib.config import DISCOVERY_URL
from quickbooks import QuickBooks
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from sandbox import credentials as sandbox_keys
from settings import Settings

TIMEOUT_SECONDS = 15
AI_TIMEOUT_SECONDS = 30


def stripe_client(settings: Settings) -> stripe.StripeClient:
    http = stripe.RequestsClient(timeout=TIMEOUT_SECONDS)
    if settings.stripe_api_key:
        return stripe.StripeClient(settings.stripe_api_key, http_client=http, max_network_retries=0)
    return stripe.StripeClient(
        sandbox_keys.STRIPE_API_KEY,
        base_addresses={"api": f"{settings.sandbox_url}/stripe"},
        http_client=http,
        max_network_retries=0,
    )


def stripe_webhook_secret(settings: Settings) -> str:
    return settings.stripe_webhook_secret if settings.stripe_api_key else sandbox_keys.STRIPE_WEBHOOK_SECRET


class _SandboxTwilioHttpClient(TwilioHttpClient):
    """Sends what the Twilio SDK addresses to api.twilio.com to the sandbox instead."""

    def __init__(self, sandbox_url: str):
        super().__init__(timeout=TIMEOUT_SECONDS)
        self._sandbox = f"{sandbox_url}/twilio"

    def request(self, method, url, *args, **kwargs):
        return super().request(
            method, url.replace("https://api.twilio.com", self._sandbox, 1), *args, **kwargs
        )


def twilio_client(settings: Settings) -> TwilioClient:
    if settings.twilio_account_sid:
        return TwilioClient(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
        )
    return TwilioClient(
        sandbox_keys.TWILIO_ACCOUNT_SID,
        sandbox_keys.TWILIO_AUTH_TOKEN,
        http_client=_SandboxTwilioHttpClient(settings.sandbox_url),
    )


def twilio_auth_token(settings: Settings) -> str:
    """What Twilio signs its webhooks with."""
    return settings.twilio_auth_token if settings.twilio_account_sid else sandbox_keys.TWILIO_AUTH_TOKEN


def configure_resend(settings: Settings) -> None:
    """The resend SDK is configured through module globals, so this runs once per process."""
    if settings.resend_api_key:
        resend.api_key = settings.resend_api_key
    else:
        resend.api_key = sandbox_keys.RESEND_API_KEY
        resend.api_url = f"{settings.sandbox_url}/resend"
    resend.default_http_client = resend.RequestsClient(timeout=TIMEOUT_SECONDS)


class _SingleTryMapsClient(googlemaps.Client):
    """googlemaps retries 5xx answers itself and has no switch for it; this stops at the first try."""

    def _request(self, url, params, first_request_time=None, retry_counter=0, *args, **kwargs):
        if retry_counter > 0:
            raise googlemaps.exceptions.TransportError("Google Maps answered 5xx; Temporal retries")
        return super()._request(url, params, first_request_time, retry_counter, *args, **kwargs)


def maps_client(settings: Settings) -> googlemaps.Client:
    options = {"timeout": TIMEOUT_SECONDS, "retry_over_query_limit": False}
    if settings.google_maps_api_key:
        return _SingleTryMapsClient(key=settings.google_maps_api_key, **options)
    return _SingleTryMapsClient(
        key=sandbox_keys.GOOGLE_MAPS_API_KEY, base_url=f"{settings.sandbox_url}/maps", **options
    )


def gemini_client(settings: Settings) -> genai.Client:
    options = genai_types.HttpOptions(
        timeout=AI_TIMEOUT_SECONDS * 1000, retry_options=genai_types.HttpRetryOptions(attempts=1)
    )
    if settings.gemini_api_key:
        return genai.Client(api_key=settings.gemini_api_key, http_options=options)
    options.base_url = f"{settings.sandbox_url}/gemini"
    return genai.Client(api_key=sandbox_keys.GEMINI_API_KEY, http_options=options)


def anthropic_client(settings: Settings) -> anthropic.Anthropic:
    if settings.anthropic_api_key:
        return anthropic.Anthropic(
            api_key=settings.anthropic_api_key, max_retries=0, timeout=AI_TIMEOUT_SECONDS
        )
    return anthropic.Anthropic(
        api_key=sandbox_keys.ANTHROPIC_API_KEY,
        base_url=f"{settings.sandbox_url}/anthropic",
        max_retries=0,
        timeout=AI_TIMEOUT_SECONDS,
    )


@dataclass(frozen=True)
class QuickBooksEndpoints:
    """Where intuit-oauth and python-quickbooks go: `AuthClient(client_id, client_secret, redirect_uri,
    environment=discovery_url)` (it takes the discovery document's URL), and `api_url_v3` set on the
    `QuickBooks` client. The local stand-in speaks plain http, and NexJob needs nothing for it:
    intuit-oauth's token calls are plain `requests`, and `QuickBooksApi` gives python-quickbooks a bearer
    session of its own. Only a `QuickBooks(auth_client=...)` client goes through requests-oauthlib, which
    refuses http unless `OAUTHLIB_INSECURE_TRANSPORT` is set (the sandbox's own tests build one)."""

    client_id: str
    client_secret: str
    environment: str  # "production", "sandbox" (Intuit's test companies) or "local" (the stand-in)
    discovery_url: str
    api_url_v3: str


def quickbooks_available(settings: Settings) -> bool:
    """Whether QuickBooks can be connected: an Intuit app's keys, or (outside production) the sandbox."""
    return bool(settings.quickbooks_client_id) or settings.nexjob_env != "production"


def quickbooks_endpoints(settings: Settings) -> QuickBooksEndpoints:
    if settings.quickbooks_client_id:
        environment = settings.quickbooks_environment
        return QuickBooksEndpoints(
            settings.quickbooks_client_id,
            settings.quickbooks_client_secret,
            environment,
            DISCOVERY_URL[environment],
            QuickBooks.sandbox_api_url_v3 if environment == "sandbox" else QuickBooks.api_url_v3,
        )
    return QuickBooksEndpoints(
        sandbox_keys.QUICKBOOKS_CLIENT_ID,
        sandbox_keys.QUICKBOOKS_CLIENT_SECRET,
        "local",
        f"{settings.sandbox_url}/quickbooks/.well-known/openid_configuration",
        f"{settings.sandbox_url}/quickbooks/v3",
    )
