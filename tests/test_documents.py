import re
import zlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from activities.documents import (
    MESSAGE_KINDS,
    SMS_MAX_CHARS,
    DocumentLine,
    QuoteDocument,
    format_money,
    pdf_safe,
    quote_email,
    quote_pdf,
    quote_sms,
)

LINK = "https://app.nexjob.dev/q/k3Jx9QpL2mW8?utm=email&src=quote"


def make_doc(**changes) -> QuoteDocument:
    doc = QuoteDocument(
        company_name="Lone Star Plumbing & Air",
        brand_colour="#1f6feb",
        company_phone="+15125550100",
        currency="usd",
        quote_number_label="Quote Q-1a2b3c4d",
        title="Water heater replacement",
        customer_name="Maria Gonzalez",
        customer_address="1204 Barton Springs Rd\nAustin, TX 78704",
        created_on=date(2026, 3, 4),
        expires_on=date(2026, 4, 3),
        lines=[
            DocumentLine("Replace 50-gal water heater", Decimal("1.00"), 185_000, 185_000),
            DocumentLine("Copper fittings", Decimal("2.50"), 1_250, 3_125),
            # The default selection counts the "better" tier only.
            DocumentLine("Standard warranty", Decimal(1), 0, 0, True, "good", counted=False),
            DocumentLine("6-year warranty", Decimal(1), 19_900, 19_900, True, "better", counted=True),
            DocumentLine("10-year warranty", Decimal(1), 34_900, 34_900, True, "best", counted=False),
            DocumentLine("Expansion tank", Decimal(1), 14_500, 14_500, optional=True, counted=False),
        ],
        subtotal_cents=208_025,
        tax_cents=17_162,
        total_cents=225_187,
        notes="We'll call 30 minutes before arriving.",
        link=LINK,
    )
    return replace(doc, **changes)


def pdf_text(data: bytes) -> str:
    """The text a PDF draws, one line per text object, in drawing order. No PDF reader is installed, but
    fpdf2's output is simple: deflated content streams, core-font text as `(...) Tj` in Windows-1252."""
    lines = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue  # not a deflated content stream
        for text_object in re.findall(rb"\bBT\b(.*?)\bET\b", content, re.S):
            literals = re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", text_object, re.S)
            if literals:
                line = b"".join(re.sub(rb"\\(.)", rb"\1", literal, flags=re.S) for literal in literals)
                lines.append(line.decode("cp1252"))
    return "\n".join(lines)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


# --- PDF ---------------------------------------------------------------------------------------------


def test_quote_pdf_shows_company_customer_lines_totals_expiry_and_link():
    data = quote_pdf(make_doc())

    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in [
        "Lone Star Plumbing & Air",
        "(512) 555-0100",
        "Quote Q-1a2b3c4d",
        "Maria Gonzalez",
        "Austin, TX 78704",
        "Water heater replacement",
        "Replace 50-gal water heater",
        "$1,850.00",
        "2.5",
        "$31.25",
        "$2,080.25",
        "$171.62",
        "$2,251.87",
        "This quote is valid until April 3, 2026.",
        "We'll call 30 minutes before arriving.",
        f"View, choose options and accept online: {LINK}",
    ]:
        assert expected in text, expected
    assert f"/URI ({LINK})".encode() in data  # the link is clickable, not only printed


def test_quote_pdf_lists_options_after_required_lines_grouped_good_better_best_then_add_ons():
    text = pdf_text(quote_pdf(make_doc()))

    order = [
        "Copper fittings",
        "Options",
        "Good — optional",
        "Standard warranty",
        "Better — optional",
        "6-year warranty",
        "Best — optional",
        "10-year warranty",
        "Add-ons — optional",
        "Expansion tank",
        "Total",
    ]
    positions = [text.index(item) for item in order]
    assert positions == sorted(positions)
    # The total is of the default selection, so the option it counts is marked as included.
    assert text.count("(included in the total below)") == 1


def test_quote_pdf_without_options_or_tax_shows_only_the_total():
    doc = make_doc(lines=make_doc().lines[:2], subtotal_cents=188_125, tax_cents=0, total_cents=188_125)

    text = pdf_text(quote_pdf(doc))

    assert "Options" not in text and "optional" not in text
    assert "Subtotal" not in text and "Tax" not in text
    assert "$1,881.25" in text


def test_quote_pdf_renders_the_same_bytes_for_the_same_quote():
    assert quote_pdf(make_doc()) == quote_pdf(make_doc())


def test_long_quote_continues_onto_numbered_pages():
    lines = [DocumentLine(f"Line item {i}", Decimal(1), 1_000, 1_000) for i in range(80)]

    data = quote_pdf(make_doc(lines=lines))

    pages = page_count(data)
    assert pages >= 3
    assert f"Quote Q-1a2b3c4d · Page {pages} of {pages}" in pdf_text(data)


def test_quote_pdf_draws_typographic_punctuation_and_replaces_what_core_fonts_cannot():
    doc = make_doc(
        company_name="O’Brien Heating – Cooling",
        customer_name="Zoë 日本 🙂 Łukasz",
        title="Boiler “service” – 2 visits…",
        notes="Parts ≈ €120; ﬁlter included.",
        lines=[DocumentLine("Flush – descale ✓", Decimal(1), 12_000, 12_000)],
        currency="eur",
    )

    text = pdf_text(quote_pdf(doc))

    assert "O’Brien Heating – Cooling" in text
    assert "Boiler “service” – 2 visits…" in text
    assert "€120.00" in text
    assert "Zoë ?? ? ?ukasz" in text
    assert "Parts ? €120; filter included." in text
    assert "Flush – descale ?" in text


def test_pdf_safe_keeps_windows_1252_drops_accents_it_lacks_and_marks_the_rest():
    assert pdf_safe("Café – it’s €5…") == "Café – it’s €5…"
    assert pdf_safe("Dvořák Győr") == "Dvorák Gyor"  # "á" is in Windows-1252, "ř" and "ő" are not
    assert pdf_safe("ﬁx\u200b me") == "fix me"  # ligature spelled out, zero-width space dropped
    assert pdf_safe("Ame\u0301lie") == "Amélie"  # combining accent composed, then drawable
    assert pdf_safe("東京 🙂") == "?? ?"


def test_pale_or_malformed_brand_colour_still_renders():
    assert quote_pdf(make_doc(brand_colour="#ffeb3b")).startswith(b"%PDF-")
    assert quote_pdf(make_doc(brand_colour="red")).startswith(b"%PDF-")


# --- money -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "currency", "expected"),
    [
        (123_450, "usd", "$1,234.50"),
        (123_450, "USD", "$1,234.50"),
        (5, "cad", "$0.05"),
        (99, "aud", "$0.99"),
        (100_000_000, "eur", "€1,000,000.00"),
        (0, "gbp", "£0.00"),
        (-2_550, "usd", "-$25.50"),
        (123_450, "sek", "1,234.50 SEK"),
    ],
)
def test_format_money(cents, currency, expected):
    assert format_money(cents, currency) == expected


# --- email -------------------------------------------------------------------------------------------


def test_email_html_escapes_every_customer_and_company_value():
    doc = make_doc(
        customer_name="<script>alert(1)</script>",
        company_name='<img src=x onerror="alert(2)">',
        title='Tom & Jerry\'s "deluxe" <b>job</b>',
    )

    subject, html, text = quote_email(doc, "sent")

    assert "<script>" not in html and "<img" not in html and "<b>job" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Tom &amp; Jerry&#39;s &#34;deluxe&#34; &lt;b&gt;job&lt;/b&gt;" in html
    # The plain-text part and the subject are not HTML: they keep the text as typed.
    assert "Hi <script>alert(1)</script>," in text
    assert subject == 'Your quote from <img src=x onerror="alert(2)">: Tom & Jerry\'s "deluxe" <b>job</b>'


def test_email_has_a_view_button_to_the_link_the_total_and_the_brand_colour():
    subject, html, text = quote_email(make_doc(), "sent")

    assert re.search(r'<a href="https://app\.nexjob\.dev/q/k3Jx9QpL2mW8\?utm=email&amp;src=quote"[^>]*>'
                     r"View your quote</a>", html)  # fmt: skip
    assert "$2,251.87" in html and "$2,251.87" in text
    assert "background:#1f6feb" in html
    assert f"View your quote: {LINK}" in text
    assert "(512) 555-0100" in html and "(512) 555-0100" in text


def test_email_brand_colour_outside_hex_never_reaches_the_styles():
    _, html, _ = quote_email(make_doc(brand_colour="red;background:url(https://evil.example)"), "sent")

    assert "evil.example" not in html
    assert "background:#1f6feb" in html


def test_email_on_a_pale_brand_colour_uses_dark_text():
    _, html, _ = quote_email(make_doc(brand_colour="#ffeb3b"), "reminder")

    assert "background:#ffeb3b;color:#1f2328" in html


def test_each_email_kind_has_its_own_subject_and_the_nudge_names_the_expiry_date():
    emails = {kind: quote_email(make_doc(), kind) for kind in MESSAGE_KINDS}

    subjects = [subject for subject, _, _ in emails.values()]
    assert len(set(subjects)) == len(MESSAGE_KINDS)
    assert all("Lone Star Plumbing & Air" in subject for subject in subjects)
    subject, html, text = emails["nudge"]
    assert "April 3, 2026" in subject and "April 3, 2026" in html and "April 3, 2026" in text
    assert "attached" in emails["sent"][2] and "attached" not in emails["reminder"][2]


def test_email_subject_stays_on_one_line():
    subject, _, _ = quote_email(make_doc(title="Kitchen\nsink\r\n  repair"), "sent")

    assert subject == "Your quote from Lone Star Plumbing & Air: Kitchen sink repair"


@pytest.mark.parametrize("render", [quote_email, quote_sms])
def test_unknown_message_kind_is_refused(render):
    with pytest.raises(ValueError, match="unknown quote message kind"):
        render(make_doc(), "thank_you")


# --- SMS ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_sms_names_the_company_and_ends_with_the_whole_link(kind):
    sms = quote_sms(make_doc(), kind)

    assert sms.startswith("Lone Star Plumbing & Air: ")
    assert sms.endswith(f" {LINK}")
    assert len(sms) < SMS_MAX_CHARS


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_sms_stays_under_the_limit_with_the_longest_names(kind):
    doc = make_doc(company_name="C" * 200, title="T" * 200, total_cents=99_999_999_99)

    sms = quote_sms(doc, kind)

    assert len(sms) < SMS_MAX_CHARS
    assert sms.endswith(f" {LINK}")


def test_sms_kinds_differ_and_the_nudge_names_the_expiry_day():
    texts = {kind: quote_sms(make_doc(), kind) for kind in MESSAGE_KINDS}

    assert len(set(texts.values())) == len(MESSAGE_KINDS)
    assert "$2,251.87" in texts["sent"]
    assert "Apr 3" in texts["nudge"]


def test_sms_replaces_curly_quotes_and_dashes_so_the_text_stays_gsm():
    sms = quote_sms(make_doc(company_name="O’Brien’s", title="Boiler – “annual” service…"), "sent")

    assert sms.startswith("O'Brien's: your quote for Boiler - \"annual\" service... ($2,251.87)")
