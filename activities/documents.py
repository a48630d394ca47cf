"""Customer-facing quote documents: the branded PDF, the emails and the texts. Pure rendering: the caller
builds a `QuoteDocument` from its rows and sends what comes back.

The PDF uses fpdf2's core fonts (no font files to ship), which cover Windows-1252 only; text outside it is
replaced rather than allowed to fail a send (see `pdf_safe`).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF, FontFace
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

MESSAGE_KINDS = ("sent", "reminder", "nudge")
SMS_MAX_CHARS = 320  # two concatenated segments at most

DEFAULT_BRAND = "#1f6feb"
CURRENCY_SYMBOLS = {"usd": "$", "cad": "$", "aud": "$", "eur": "€", "gbp": "£"}
OPTION_SECTIONS = {"good": "Good", "better": "Better", "best": "Best", None: "Add-ons"}

INK = (31, 35, 40)
MUTED = (101, 109, 118)
RULE = (208, 215, 222)
WHITE = (255, 255, 255)


@dataclass
class DocumentLine:
    description: str
    quantity: Decimal
    unit_price_cents: int
    amount_cents: int
    optional: bool = False
    option_group: str | None = None  # "good" / "better" / "best"; None with optional=True is an add-on
    counted: bool = True  # in the totals of the default selection


@dataclass
class QuoteDocument:
    """Everything a rendering needs, built by the caller from the company, customer and quote rows."""

    company_name: str
    brand_colour: str  # "#1f6feb"
    company_phone: str | None
    currency: str  # "usd"
    quote_number_label: str  # "Quote Q-1a2b3c4d"
    title: str
    customer_name: str
    customer_address: str | None
    created_on: date
    expires_on: date
    lines: list[DocumentLine]
    subtotal_cents: int  # totals of the default selection
    tax_cents: int
    total_cents: int
    notes: str | None
    link: str  # the customer's private link to view, choose options and accept


# --- formatting shared by every output ---------------------------------------------------------------


def format_money(cents: int, currency: str) -> str:
    """`123450, "usd"` -> "$1,234.50"; a currency without a symbol here gets its code: "1,234.50 SEK"."""
    # Integer arithmetic: floats lose cents on large amounts.
    whole, part = divmod(abs(cents), 100)
    amount = f"{whole:,}.{part:02d}"
    sign = "-" if cents < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"


def format_date(day: date) -> str:
    # Month spelled out: "03/04/2026" reads as two different days in the US and elsewhere.
    return f"{day:%B} {day.day}, {day.year}"


def format_phone(phone: str) -> str:
    """North American E.164 numbers as people write them: "+15125550100" -> "(512) 555-0100"."""
    match = re.fullmatch(r"\+1(\d{3})(\d{3})(\d{4})", phone)
    return f"({match[1]}) {match[2]}-{match[3]}" if match else phone


def format_quantity(quantity: Decimal) -> str:
    return f"{Decimal(quantity).normalize():f}"  # 2.00 -> "2", 1.50 -> "1.5"


def brand_rgb(colour: str) -> tuple[int, int, int]:
    """The brand colour as RGB; anything but "#rrggbb" gets the default, as the value ends up in CSS too."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        colour = DEFAULT_BRAND
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def ink_on(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White text on dark brand colours, dark on light ones: white on a yellow brand is unreadable."""
    r, g, b = background
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 160 else WHITE


def _accent(brand: tuple[int, int, int]) -> tuple[int, int, int]:
    """Brand-coloured text on white, unless the brand colour is too pale to read there."""
    return brand if ink_on(brand) == WHITE else INK


def css_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# --- PDF ---------------------------------------------------------------------------------------------


def _fits_cp1252(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def pdf_safe(text: str) -> str:
    """`text` with every character the core fonts cannot draw replaced: accents dropped where that is
    enough ("ő" -> "o", "ﬁ" -> "fi"), invisible marks removed, anything else (CJK, emoji) "?".
    PDF metadata (title, author) is UTF-16 and keeps the original."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if _fits_cp1252(char):
            out.append(char)
        elif unicodedata.category(char) in ("Mn", "Me", "Cf"):  # combining marks, zero-width joiners
            continue
        else:
            kept = "".join(c for c in unicodedata.normalize("NFKD", char) if _fits_cp1252(c))
            out.append(kept or "?")
    return "".join(out)


class _BrandedPdf(FPDF):
    """The page every document prints on: its paper, its text encoding and a footer with its label."""

    def __init__(self, currency: str, label: str):
        # Letter where it is the paper in the printer; A4 everywhere else.
        super().__init__(format="letter" if currency.lower() in ("usd", "cad") else "a4")
        self.label = label
        # fpdf2 declares its core fonts as WinAnsiEncoding and ships Windows-1252 widths, but encodes text
        # as latin-1 by default, which refuses "€ – ’ …". Windows-1252 draws those as themselves.
        self.core_fonts_encoding = "cp1252"
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=20)
        self.set_text_color(*INK)

    def normalize_text(self, text: str) -> str:
        # Every string fpdf2 draws or measures comes through here: one place keeps customer-typed text
        # (names, notes, descriptions) from failing the whole document on a single character.
        return super().normalize_text(pdf_safe(text))

    def footer(self):
        self.set_y(-14)
        self.set_font("helvetica", size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.label} · Page {self.page_no()} of {{nb}}", align="C")


def _first_page(currency: str, label: str, title: str, author: str, dated: date) -> _BrandedPdf:
    pdf = _BrandedPdf(currency, label)
    pdf.set_title(title)
    pdf.set_author(author)
    # The document's own date rather than the clock, so the same document renders to the same bytes.
    pdf.set_creation_date(datetime(dated.year, dated.month, dated.day, tzinfo=UTC))
    pdf.add_page()
    return pdf


def quote_pdf(doc: QuoteDocument) -> bytes:
    """The quote as a branded PDF, to attach to the email and offer for download."""
    label = doc.quote_number_label
    pdf = _first_page(doc.currency, label, f"{label}: {doc.title}", doc.company_name, doc.created_on)
    brand = brand_rgb(doc.brand_colour)

    _header_band(pdf, doc.company_name, doc.company_phone, label, brand)
    dates = [("Quote date", doc.created_on), ("Valid until", doc.expires_on)]
    _parties(pdf, "PREPARED FOR", doc.customer_name, doc.customer_address, dates)

    pdf.set_font("helvetica", "B", 15)
    pdf.multi_cell(0, 8, doc.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    required = [line for line in doc.lines if not line.optional]
    if required:
        headings = FontFace(emphasis="BOLD", color=ink_on(brand), fill_color=brand)
        _lines_table(pdf, required, doc.currency, headings)

    optional = [line for line in doc.lines if line.optional]
    if optional:
        _options(pdf, optional, doc.currency, brand)

    _totals(pdf, doc, brand, has_options=bool(optional))
    _closing(pdf, doc, brand)
    return bytes(pdf.output())


def _header_band(
    pdf: FPDF, company_name: str, company_phone: str | None, label: str, brand: tuple[int, int, int]
) -> None:
    """The brand-coloured band across the top: the company's name and phone, the document's label."""
    band_height = 30
    # A local context: fpdf2 tables take their cell background from the current fill colour.
    with pdf.local_context(fill_color=brand, text_color=ink_on(brand)):
        pdf.rect(0, 0, pdf.w, band_height, style="F")
        name_width = pdf.epw * 0.62
        pdf.set_xy(pdf.l_margin, 8)
        pdf.set_font("helvetica", "B", 20)
        pdf.cell(name_width, 9, _fit_width(pdf, company_name, name_width, smallest=11))
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(0, 9, label, align="R")
        if company_phone:
            pdf.set_xy(pdf.l_margin, 18)
            pdf.set_font("helvetica", size=10)
            pdf.cell(name_width, 6, format_phone(company_phone))
    pdf.set_y(band_height + 10)


def _fit_width(pdf: FPDF, text: str, width: float, smallest: float) -> str:
    """Shrink the current font until `text` fits on one line, then cut it: the header never wraps."""
    size = pdf.font_size_pt
    while size > smallest and pdf.get_string_width(text) > width:
        size -= 1
        pdf.set_font_size(size)
    while len(text) > 1 and pdf.get_string_width(text) > width:
        text = text[:-2] + "…"
    return text


def _parties(
    pdf: FPDF,
    heading: str,
    name: str,
    detail: str | None,
    dates: list[tuple[str, date]],
    stamp: tuple[str, tuple[int, int, int]] | None = None,
) -> None:
    """Who the document is for on the left (heading, name, address or account), its dates on the right,
    and under them a stamp (PAID) when it has one."""
    top = pdf.get_y()
    half = pdf.epw / 2

    _small_caps(pdf, heading)
    pdf.set_font("helvetica", "B", 12)
    pdf.multi_cell(half, 6, name, align="L", new_x="LMARGIN", new_y="NEXT")
    if detail:
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(half, 5, detail, align="L", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()

    pdf.set_y(top)
    for label, day in dates:
        pdf.set_x(pdf.l_margin + half)
        pdf.set_font("helvetica", size=10)
        with pdf.local_context(text_color=MUTED):
            pdf.cell(half * 0.45, 6, label, align="R")
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(0, 6, format_date(day), align="R", new_x="LMARGIN", new_y="NEXT")
    if stamp:
        word, colour = stamp
        pdf.set_x(pdf.l_margin + half)
        pdf.set_font("helvetica", "B", 14)
        with pdf.local_context(text_color=colour):
            pdf.cell(0, 9, word, align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)


def _small_caps(pdf: FPDF, text: str) -> None:
    pdf.set_font("helvetica", "B", 8)
    with pdf.local_context(text_color=MUTED):
        pdf.cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")


def _lines_table(pdf: FPDF, lines: list[DocumentLine], currency: str, headings: FontFace | None) -> None:
    """Lines in four columns; without `headings` the table has no heading row (the option sections, which
    line up under the main table's headings)."""
    pdf.set_font("helvetica", size=10)
    pdf.set_draw_color(*RULE)
    with pdf.table(
        col_widths=(55, 10, 17.5, 17.5),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=headings or FontFace(),
        first_row_as_headings=headings is not None,
        borders_layout="HORIZONTAL_LINES",
        line_height=5.5,
        padding=(1.5, 2),
    ) as table:
        if headings is not None:
            table.row(("Description", "Qty", "Unit price", "Amount"))
        for line in lines:
            description = line.description
            if line.optional and line.counted:
                description += "\n(included in the total below)"
            quantity = format_quantity(line.quantity)
            unit_price = format_money(line.unit_price_cents, currency)
            table.row((description, quantity, unit_price, format_money(line.amount_cents, currency)))


def _options(pdf: FPDF, lines: list[DocumentLine], currency: str, brand: tuple[int, int, int]) -> None:
    pdf.ln(6)
    _keep_with_next(pdf)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 7, "Options", new_x="LMARGIN", new_y="NEXT")
    if any(line.option_group for line in lines):
        hint = "Choose one of Good, Better or Best, and any add-ons, when you accept online."
    else:
        hint = "Add any of these when you accept online."
    pdf.set_font("helvetica", size=9)
    with pdf.local_context(text_color=MUTED):
        pdf.multi_cell(0, 5, hint, align="L", new_x="LMARGIN", new_y="NEXT")

    for group, heading in OPTION_SECTIONS.items():
        section = [line for line in lines if line.option_group == group]
        if not section:
            continue
        pdf.ln(3)
        _keep_with_next(pdf)
        pdf.set_font("helvetica", "B", 11)
        with pdf.local_context(text_color=_accent(brand)):
            pdf.cell(0, 6, f"{heading} — optional", new_x="LMARGIN", new_y="NEXT")
        _lines_table(pdf, section, currency, headings=None)


def _keep_with_next(pdf: FPDF) -> None:
    # A heading alone at the foot of a page, its table on the next, reads as a mistake.
    if pdf.will_page_break(30):
        pdf.add_page()


def _notes(pdf: FPDF, notes: str | None) -> None:
    """The document's notes for the reader, under a small heading, when it has any."""
    if notes:
        pdf.ln(4)
        _keep_with_next(pdf)
        _small_caps(pdf, "NOTES")
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 5, notes, align="L", new_x="LMARGIN", new_y="NEXT")


def _totals(pdf: FPDF, doc: QuoteDocument, brand: tuple[int, int, int], has_options: bool) -> None:
    pdf.ln(6)
    _keep_with_next(pdf)
    label_width, value_width = 45, 35
    left = pdf.l_margin + pdf.epw - label_width - value_width
    rows = [("Subtotal", doc.subtotal_cents), ("Tax", doc.tax_cents)] if doc.tax_cents else []
    pdf.set_font("helvetica", size=10)
    for label, cents in rows:
        pdf.set_x(left)
        pdf.cell(label_width, 6, label, align="R")
        pdf.cell(value_width, 6, format_money(cents, doc.currency), align="R", new_x="LMARGIN", new_y="NEXT")

    with pdf.local_context(draw_color=brand, line_width=0.6):
        pdf.line(left, pdf.get_y() + 1, left + label_width + value_width, pdf.get_y() + 1)
    pdf.ln(2)
    pdf.set_x(left)
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(label_width, 8, "Total", align="R")
    total = format_money(doc.total_cents, doc.currency)
    pdf.cell(value_width, 8, total, align="R", new_x="LMARGIN", new_y="NEXT")
    if has_options:
        pdf.set_font("helvetica", "I", 8)
        note = "With the options marked as included; it changes with the options you choose."
        with pdf.local_context(text_color=MUTED):
            pdf.cell(0, 5, note, align="R", new_x="LMARGIN", new_y="NEXT")


def _closing(pdf: FPDF, doc: QuoteDocument, brand: tuple[int, int, int]) -> None:
    pdf.ln(6)
    pdf.set_font("helvetica", "B", 10)
    validity = f"This quote is valid until {format_date(doc.expires_on)}."
    pdf.multi_cell(0, 6, validity, align="L", new_x="LMARGIN", new_y="NEXT")

    _notes(pdf, doc.notes)

    pdf.ln(6)
    pdf.set_font("helvetica", "B", 10)
    invitation = f"View, choose options and accept online: {doc.link}"
    with pdf.local_context(text_color=_accent(brand)):
        pdf.multi_cell(0, 6, invitation, link=doc.link, align="L", new_x="LMARGIN", new_y="NEXT")


# --- email and text ----------------------------------------------------------------------------------

# Autoescape for the .html template only: the plain-text part must keep "&" and "<" as typed.
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _check_kind(kind: str) -> None:
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown quote message kind {kind!r}; use one of {', '.join(MESSAGE_KINDS)}")


def _one_line(text: str) -> str:
    return " ".join(text.split())  # a newline in a subject or a text is never wanted


def quote_email(doc: QuoteDocument, kind: str) -> tuple[str, str, str]:
    """(subject, html, text) for "sent" (the caller attaches the PDF), "reminder" (+2 days) or "nudge"
    (+5 days, naming the expiry date)."""
    _check_kind(kind)
    company, title, expires = _one_line(doc.company_name), _one_line(doc.title), format_date(doc.expires_on)
    subject = {
        "sent": f"Your quote from {company}: {title}",
        "reminder": f"Reminder: your quote from {company} is ready",
        "nudge": f"Your quote from {company} expires {expires}",
    }[kind]
    brand = brand_rgb(doc.brand_colour)
    context = {
        "kind": kind,
        "subject": subject,
        "company": doc.company_name,
        "phone": format_phone(doc.company_phone) if doc.company_phone else None,
        "customer": doc.customer_name,
        "title": doc.title,
        "label": doc.quote_number_label,
        "total": format_money(doc.total_cents, doc.currency),
        "has_options": any(line.optional for line in doc.lines),
        "expires": expires,
        "link": doc.link,
        "brand": css_colour(brand),
        "on_brand": css_colour(ink_on(brand)),
    }
    html = _templates.get_template("quote_email.html").render(context)
    text = _templates.get_template("quote_email.txt").render(context)
    return subject, html, text


# Curly quotes, dashes and "…" are outside the GSM alphabet: one of them turns a text into UCS-2, which
# cuts a segment from 160 characters to 70 and more than doubles what it costs.
_GSM_FRIENDLY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})


def _clip(text: str, limit: int) -> str:
    text = _one_line(text).translate(_GSM_FRIENDLY)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def quote_sms(doc: QuoteDocument, kind: str) -> str:
    """A short text for the same three kinds, naming the company, with the link; under SMS_MAX_CHARS."""
    _check_kind(kind)
    # Names and titles may be 200 characters each; clipped, any link up to 150 characters fits whole.
    company, title = _clip(doc.company_name, 40), _clip(doc.title, 50)
    total = format_money(doc.total_cents, doc.currency)
    expires = f"{doc.expires_on:%b} {doc.expires_on.day}"
    message = {
        "sent": f"{company}: your quote for {title} ({total}) is ready. View, choose options and accept:",
        "reminder": f"{company}: a friendly reminder that your quote for {title} is ready. View it:",
        "nudge": f"{company}: your quote for {title} is valid until {expires}. View and accept:",
    }[kind]
    return f"{message} {doc.link}"


# --- invoices ----------------------------------------------------------------------------------------
# The same look as the quote: brand band, parties, lines, totals; then what is paid and what is still due.

INVOICE_EMAIL_KINDS = ("sent", "card_declined", "friendly", "firm", "final")
INVOICE_SMS_KINDS = (*INVOICE_EMAIL_KINDS, "receipt")
# The follow-ups for an unpaid invoice, in the order they go out: tone, what the tone asks of the writer.
REMINDER_TONES = {
    "friendly": "friendly and warm; assume they simply forgot",
    "firm": "polite but firm; ask them to pay promptly, and to reply if something about the invoice is wrong",
    "final": "courteous but serious; this is the last reminder: ask them to pay today or call to arrange it",
}
REMINDER_NOTE_MAX_CHARS = 1200
PAID_GREEN = (17, 99, 41)


@dataclass
class InvoiceDocument:
    """Everything an invoice rendering needs, built by the caller from the company, customer and invoice."""

    company_name: str
    brand_colour: str
    company_phone: str | None
    currency: str
    number: int
    customer_name: str
    customer_address: str | None
    issued_on: date
    due_on: date
    lines: list[DocumentLine]
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    amount_paid_cents: int
    notes: str | None
    link: str  # the customer's private page to view and pay the invoice
    status: str = "sent"  # draft, sent, viewed, overdue, paid, void
    days_overdue: int = 0  # for the follow-ups: how many days after the due date this one goes

    @property
    def label(self) -> str:
        return f"Invoice #{self.number}"

    @property
    def balance_cents(self) -> int:
        return max(self.total_cents - self.amount_paid_cents, 0)


def invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as a branded PDF, attached to the email and offered on the customer's page."""
    title = f"{doc.label}: {doc.company_name}"
    pdf = _first_page(doc.currency, doc.label, title, doc.company_name, doc.issued_on)
    brand = brand_rgb(doc.brand_colour)

    _header_band(pdf, doc.company_name, doc.company_phone, doc.label, brand)
    dates = [("Invoice date", doc.issued_on), ("Due date", doc.due_on)]
    stamp = {"paid": ("PAID", PAID_GREEN), "void": ("VOID", MUTED)}.get(doc.status)
    _parties(pdf, "BILL TO", doc.customer_name, doc.customer_address, dates, stamp)
    headings = FontFace(emphasis="BOLD", color=ink_on(brand), fill_color=brand)
    if doc.lines:
        _lines_table(pdf, doc.lines, doc.currency, headings)
    _invoice_totals(pdf, doc, brand)
    _invoice_closing(pdf, doc, brand)
    return bytes(pdf.output())


def _invoice_totals(pdf: FPDF, doc: InvoiceDocument, brand: tuple[int, int, int]) -> None:
    pdf.ln(6)
    _keep_with_next(pdf)
    label_width, value_width = 45, 35
    left = pdf.l_margin + pdf.epw - label_width - value_width

    def row(label: str, cents: int, style: str = "", size: int = 10, height: int = 6) -> None:
        pdf.set_x(left)
        pdf.set_font("helvetica", style, size)
        pdf.cell(label_width, height, label, align="R")
        pdf.cell(
            value_width, height, format_money(cents, doc.currency), align="R", new_x="LMARGIN", new_y="NEXT"
        )

    if doc.tax_cents:
        row("Subtotal", doc.subtotal_cents)
        row("Tax", doc.tax_cents)
    row("Total", doc.total_cents, "B", 11, 7)
    if doc.amount_paid_cents:
        row("Paid", -doc.amount_paid_cents)
    with pdf.local_context(draw_color=brand, line_width=0.6):
        pdf.line(left, pdf.get_y() + 1, left + label_width + value_width, pdf.get_y() + 1)
    pdf.ln(2)
    row("Balance due", doc.balance_cents, "B", 13, 8)


def _invoice_closing(pdf: FPDF, doc: InvoiceDocument, brand: tuple[int, int, int]) -> None:
    pdf.ln(6)
    pdf.set_font("helvetica", "B", 10)
    if doc.status == "paid":
        closing = "Paid in full. Thank you for your business!"
    elif doc.status == "void":
        closing = "This invoice was voided: nothing is due."
    else:
        closing = f"Payment is due by {format_date(doc.due_on)}."
    pdf.multi_cell(0, 6, closing, align="L", new_x="LMARGIN", new_y="NEXT")

    _notes(pdf, doc.notes)

    if doc.status not in ("paid", "void") and doc.balance_cents:
        pdf.ln(6)
        pdf.set_font("helvetica", "B", 10)
        with pdf.local_context(text_color=_accent(brand)):
            pdf.multi_cell(
                0,
                6,
                f"View and pay online: {doc.link}",
                link=doc.link,
                align="L",
                new_x="LMARGIN",
                new_y="NEXT",
            )


def _check_invoice_kind(kind: str, kinds: tuple[str, ...]) -> None:
    if kind not in kinds:
        raise ValueError(f"unknown invoice message kind {kind!r}; use one of {', '.join(kinds)}")


def invoice_reminder_fallback(doc: InvoiceDocument, tone: str) -> str:
    """The follow-up's words when no AI may or can write them: the same facts, the same escalation."""
    _check_invoice_kind(tone, tuple(REMINDER_TONES))
    balance, due = format_money(doc.balance_cents, doc.currency), format_date(doc.due_on)
    if tone == "friendly":
        return (
            f"Just a friendly reminder that {doc.label} for {balance} was due on {due}. If you have already "
            "sent payment, thank you, and please ignore this note. Otherwise you can pay online in a minute "
            "with the link below."
        )
    if tone == "firm":
        return (
            f"Our records show that {doc.label} for {balance} is now {doc.days_overdue} days past due "
            f"(it was due on {due}). Please arrange payment promptly; you can pay online with the link "
            "below. If something about the invoice is not right, reply to this email and we will sort it out."
        )
    call = f" or call us at {format_phone(doc.company_phone)}" if doc.company_phone else ""
    return (
        f"This is our final reminder that {doc.label} for {balance} is {doc.days_overdue} days past due. "
        f"Please pay it today with the link below{call} to arrange payment. We would like to settle this "
        "without further reminders."
    )


def invoice_reminder_prompt(doc: InvoiceDocument, tone: str) -> tuple[str, str]:
    """(system, prompt) asking the AI for the follow-up's words in the tone its lateness calls for."""
    _check_invoice_kind(tone, tuple(REMINDER_TONES))
    system = (
        "You write the body of short payment reminder emails for a small trades business. Plain text, two to "
        "four sentences, no greeting line, no sign-off, no links, no placeholders. Never invent amounts, "
        "dates, fees or consequences that are not in the request."
    )
    balance, due = format_money(doc.balance_cents, doc.currency), format_date(doc.due_on)
    prompt = (
        f"Write a {tone} reminder to {_one_line(doc.customer_name)} about {doc.label} from "
        f"{_one_line(doc.company_name)} for {balance}, which was due on {due} and is now "
        f"{doc.days_overdue} days past due. Tone: {REMINDER_TONES[tone]}. "
        "A link to pay online is added below your text."
    )
    return system, prompt


def usable_reminder_note(text: str | None) -> bool:
    """Whether an AI answer can go to a customer as it is: some words, not an essay, no links or blanks."""
    text = (text or "").strip()
    if not 20 <= len(text) <= REMINDER_NOTE_MAX_CHARS:
        return False
    # A link the model made up is a phishing risk; blanks ("[Your name]") mean it did not finish the job.
    return not re.search(r"https?://|www\.|\[[^\]]*\]|\{[^}]*\}", text)


def invoice_email(doc: InvoiceDocument, kind: str, note: str | None = None) -> tuple[str, str, str]:
    """(subject, html, text) for "sent" (the caller attaches the PDF), "card_declined" (the saved card could
    not be charged: pay online instead) or a follow-up ("friendly", "firm", "final"), whose words are
    `note` (the AI's, or `invoice_reminder_fallback`)."""
    _check_invoice_kind(kind, INVOICE_EMAIL_KINDS)
    if kind in REMINDER_TONES and not note:
        note = invoice_reminder_fallback(doc, kind)
    company = _one_line(doc.company_name)
    subject = {
        "sent": f"{doc.label} from {company}",
        "card_declined": f"{doc.label} from {company}: your card could not be charged",
        "friendly": f"A friendly reminder: {doc.label} from {company}",
        "firm": f"{doc.label} from {company} is past due",
        "final": f"Final notice: {doc.label} from {company} is overdue",
    }[kind]
    brand = brand_rgb(doc.brand_colour)
    context = {
        "kind": kind,
        "subject": subject,
        "company": doc.company_name,
        "phone": format_phone(doc.company_phone) if doc.company_phone else None,
        "customer": doc.customer_name,
        "label": doc.label,
        "total": format_money(doc.total_cents, doc.currency),
        "balance": format_money(doc.balance_cents, doc.currency),
        "due": format_date(doc.due_on),
        "note": note.strip() if note else None,
        "link": doc.link,
        "brand": css_colour(brand),
        "on_brand": css_colour(ink_on(brand)),
    }
    html = _templates.get_template("invoice_email.html").render(context)
    text = _templates.get_template("invoice_email.txt").render(context)
    return subject, html, text


def invoice_sms(doc: InvoiceDocument, kind: str) -> str:
    """A short text naming the company, ending with the whole link; under SMS_MAX_CHARS."""
    _check_invoice_kind(kind, INVOICE_SMS_KINDS)
    company = _clip(doc.company_name, 40)
    balance = format_money(doc.balance_cents, doc.currency)
    due, days = f"{doc.due_on:%b} {doc.due_on.day}", doc.days_overdue
    message = {
        "sent": f"{company}: {doc.label} for {balance} is ready, due {due}. View and pay:",
        "card_declined": (
            f"{company}: we could not charge your card on file for {doc.label} ({balance}). Pay online:"
        ),
        "friendly": f"{company}: a friendly reminder that {doc.label} ({balance}) was due {due}. Pay online:",
        "firm": f"{company}: {doc.label} ({balance}) is now {days} days past due. Please pay promptly:",
        "final": f"{company}: final notice: {doc.label} ({balance}) is {days} days past due. Pay today:",
        "receipt": (
            f"{company}: thank you! We received your payment of "
            f"{format_money(doc.amount_paid_cents, doc.currency)} for {doc.label}. Your receipt:"
        ),
    }[kind]
    return f"{message} {doc.link}"


# --- purchase orders ---------------------------------------------------------------------------------
# What the company orders from a supplier: the invoice's band and lines, an "order from" block, a total.


@dataclass
class PurchaseOrderDocument:
    """Everything a purchase order rendering needs, built by the caller from the company, supplier and PO."""

    company_name: str
    brand_colour: str
    company_phone: str | None
    currency: str
    number: int
    supplier_name: str
    account_number: str | None  # the company's account with the supplier
    issued_on: date
    lines: list[DocumentLine]  # description carries the SKU; unit price is the cost to the company
    total_cents: int
    notes: str | None

    @property
    def label(self) -> str:
        return f"Purchase Order #{self.number}"


def purchase_order_pdf(doc: PurchaseOrderDocument) -> bytes:
    """The purchase order as a branded PDF, attached to the supplier's email."""
    title = f"{doc.label}: {doc.company_name}"
    pdf = _first_page(doc.currency, doc.label, title, doc.company_name, doc.issued_on)
    brand = brand_rgb(doc.brand_colour)
    _header_band(pdf, doc.company_name, doc.company_phone, doc.label, brand)
    account = f"Our account: {doc.account_number}" if doc.account_number else None
    _parties(pdf, "ORDER FROM", doc.supplier_name, account, [("Order date", doc.issued_on)])

    headings = FontFace(emphasis="BOLD", color=ink_on(brand), fill_color=brand)
    _lines_table(pdf, doc.lines, doc.currency, headings)
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(
        0,
        8,
        f"Total  {format_money(doc.total_cents, doc.currency)}",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    _notes(pdf, doc.notes)
    pdf.ln(6)
    pdf.set_font("helvetica", "B", 10)
    pdf.multi_cell(0, 6, _PO_CONFIRM, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# Strings have no file name to choose escaping by: the plain-text part must keep "&" as typed.
_PLAIN = _templates.overlay(autoescape=False)
_PO_CONFIRM = "Please confirm this order and its delivery date by replying to this email."
_PO_EMAIL_TEXT = """Hello {{ supplier }},

Please supply the items below for {{ company }}{% if account %} (our account {{ account }}){% endif %}. \
{{ label }} is attached.

{% for line in lines %}
- {{ line.quantity }} x {{ line.description }}
{% endfor %}

Total: {{ total }}
{% if notes %}

{{ notes }}
{% endif %}

{{ confirm }}

{{ company }}{% if phone %} · {{ phone }}{% endif %}
"""
_PO_EMAIL_HTML = """<p>Hello {{ supplier }},</p>
<p>Please supply the items below for {{ company }}{% if account %} (our account {{ account }}){% endif %}.
{{ label }} is attached.</p>
<table cellpadding="4" style="border-collapse:collapse">
<tr style="background:{{ brand }};color:{{ on_brand }}">
<th align="right">Qty</th><th align="left">Item</th></tr>
{% for line in lines %}
<tr><td align="right">{{ line.quantity }}</td><td>{{ line.description }}</td></tr>
{% endfor %}
</table>
<p><strong>Total: {{ total }}</strong></p>
{% if notes %}<p>{{ notes }}</p>{% endif %}
<p>{{ confirm }}</p>
<p>{{ company }}{% if phone %} · {{ phone }}{% endif %}</p>
"""


def purchase_order_email(doc: PurchaseOrderDocument) -> tuple[str, str, str]:
    """(subject, html, text) of the email that carries the purchase order PDF to the supplier."""
    brand = brand_rgb(doc.brand_colour)
    context = {
        "supplier": doc.supplier_name,
        "company": doc.company_name,
        "account": doc.account_number,
        "label": doc.label,
        "lines": [{"quantity": format_quantity(x.quantity), "description": x.description} for x in doc.lines],
        "total": format_money(doc.total_cents, doc.currency),
        "notes": doc.notes,
        "confirm": _PO_CONFIRM,
        "phone": format_phone(doc.company_phone) if doc.company_phone else None,
        "brand": css_colour(brand),
        "on_brand": css_colour(ink_on(brand)),
    }
    subject = f"{doc.label} from {_one_line(doc.company_name)}"
    html = _templates.from_string(_PO_EMAIL_HTML).render(context)
    text = _PLAIN.from_string(_PO_EMAIL_TEXT).render(context)
    return subject, html, text
