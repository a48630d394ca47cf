"""The Stripe sandbox's HTML: the page frame of the hosted pay and 3-D Secure pages, and the pay form."""

import html

from fastapi.responses import HTMLResponse

from sandbox.stripe.service import StripeSandbox
from sandbox.stripe.wire import money

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f8fa;margin:0;color:#1a1f36}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 8px #0002}
h1{font-size:1.1rem;margin:0 0 .25rem}.amount{font-size:2rem;font-weight:600;margin:.5rem 0 1.5rem}
label{display:block;font-size:.85rem;margin:.75rem 0 .25rem}input{width:100%;box-sizing:border-box;
padding:.6rem;border:1px solid #ccd;border-radius:6px;font-size:1rem}.row{display:flex;gap:.5rem}
button{width:100%;margin-top:1.25rem;padding:.75rem;border:0;border-radius:6px;background:#635bff;color:#fff;
font-size:1rem;cursor:pointer}.error{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:6px}
.ok{background:#e3f9e5;color:#1b5e20;padding:.6rem;border-radius:6px}small{color:#687385}
.badge{display:inline-block;font-size:.7rem;background:#ffe8b3;color:#7a4b00;padding:.1rem .4rem;
border-radius:4px;margin-bottom:.75rem}input,button{font-family:inherit}
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f'<body><main><span class="badge">Stripe sandbox · test mode</span>{body}</main></body></html>'
    )
    return HTMLResponse(document, status)


def pay_form(stripe: StripeSandbox, target: dict, error: str | None = None, number: str = "") -> HTMLResponse:
    setup = target.get("mode") == "setup"
    amount = "" if setup else money(stripe.total(target["id"]), target["currency"])
    heading = (
        "Save a card for later payments" if setup else html.escape(stripe.describe(target["id"]) or "Payment")
    )
    cancel = target.get("cancel_url")
    body = f"""
<h1>{heading}</h1><div class="amount">{amount}</div>
{f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""}
<form method="post">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number"
 value="{html.escape(number or "4242 4242 4242 4242")}">
<div class="row"><div><label for="exp">Expiry</label><input id="exp" name="exp" value="12 / 34"></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" value="123"></div></div>
<button type="submit">{"Save card" if setup else f"Pay {amount}"}</button>
</form>
<p><small>Test cards: 4242 4242 4242 4242 succeeds · 4000 0000 0000 0002 is declined ·
4000 0000 0000 9995 has insufficient funds.</small></p>
{f'<p><a href="{html.escape(cancel)}">Cancel and go back</a></p>' if cancel else ""}
"""
    return page(heading, body, 402 if error else 200)
