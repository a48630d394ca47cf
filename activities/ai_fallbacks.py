"""Deterministic stand-ins for AI answers, for callers whose request gets the fallback (no model may or can
answer): sentiment from word lists and a lead score from the lead's fields. Message templates need no code
here: callers pass them in as `AiRequest.fallback`."""

import re
from collections.abc import Mapping
from typing import Any

POSITIVE_WORDS = frozenset(
    "great thanks thank perfect love loved excellent awesome amazing happy friendly professional "
    "helpful quick fast recommend wonderful fantastic good nice pleased satisfied courteous".split()
)
NEGATIVE_WORDS = frozenset(
    "late rude terrible broken never refund awful horrible bad worst slow dirty unprofessional "
    "disappointed angry overcharged expensive leaking leak problem issue cancel complaint poor wrong".split()
)
NEGATIONS = frozenset("not no never didn't don't doesn't isn't wasn't weren't won't can't couldn't".split())
NEGATION_REACH = 3  # a negation flips the next few words: "not very happy"


def lexicon_sentiment(text: str) -> float:
    """Sentiment in [-1, 1] from word lists, with "not happy" counted as negative. 0 when unsure."""
    positive = negative = 0
    flip_left = 0
    for word in re.findall(r"[a-z']+", text.lower()):
        polarity = (word in POSITIVE_WORDS) - (word in NEGATIVE_WORDS)
        if flip_left:
            polarity, flip_left = -polarity, flip_left - 1
        if word in NEGATIONS:
            flip_left = NEGATION_REACH
            if word != "never":  # "never" is a complaint on its own ("never showed up")
                continue
        positive += polarity > 0
        negative += polarity < 0
    if positive + negative == 0:
        return 0.0
    return (positive - negative) / (positive + negative)


URGENT_WORDS = ("emergency", "leak", "leaking", "no heat", "no hot water", "no ac", "no a/c", "flood",
                "burst", "gas smell", "smell gas", "sparking", "urgent", "asap", "today")  # fmt: skip
SOURCE_POINTS = {"referral": 20, "phone": 15, "website": 10, "sms": 10, "google": 10}


def rule_lead_score(lead: Any) -> int:
    """A 0–100 score from a lead's fields (a Lead, LeadCreate or mapping): reachable, warm, urgent."""

    def field(name: str):
        return lead.get(name) if isinstance(lead, Mapping) else getattr(lead, name, None)

    score = 20
    score += 20 if field("phone") else 0
    score += 10 if field("email") else 0
    score += 5 if field("address") else 0
    score += SOURCE_POINTS.get((field("source") or "").strip().lower(), 5 if field("source") else 0)
    notes = (field("notes") or "").lower()
    score += min(30, 10 * sum(word in notes for word in URGENT_WORDS))
    return max(0, min(100, score))
