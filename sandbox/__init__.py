"""The outside world on one machine: stand-ins for Stripe, Twilio, Resend, Gemini, Claude and Google Maps.

Each provider's module speaks the subset of that provider's HTTP API we use (same paths, wire format and
auth headers), so the official SDKs run unchanged against it. `python -m sandbox` serves them all.
"""
