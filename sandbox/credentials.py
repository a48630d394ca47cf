"""The sandbox's test credentials. The app uses them for any provider that has no real key configured."""

STRIPE_API_KEY = "sk_test_nexjob_sandbox"
STRIPE_WEBHOOK_SECRET = "whsec_nexjob_sandbox"
TWILIO_ACCOUNT_SID = "AC00000000000000000000000000sandbox"
TWILIO_AUTH_TOKEN = "nexjob-sandbox-twilio-token"
RESEND_API_KEY = "re_nexjob_sandbox"
GEMINI_API_KEY = "nexjob-sandbox-gemini-key"
ANTHROPIC_API_KEY = "sk-ant-nexjob-sandbox"
# googlemaps checks the shape of the key before sending anything.
GOOGLE_MAPS_API_KEY = "AIzaNexJobSandbox000000000000000000000"
# QuickBooks Online: the sandbox app's OAuth client, sent by intuit-oauth as HTTP basic auth.
QUICKBOOKS_CLIENT_ID = "ABnexjobSandboxQuickBooksClient0000000000000000000"
QUICKBOOKS_CLIENT_SECRET = "nexjob-sandbox-quickbooks-secret"
