"""The fake Cloudflare API speaks the v4 contract the SDK expects: envelopes, error shapes with
their codes, pagination, per-token permissions, injected faults, email sending."""

from __future__ import annotations

import httpx
import pytest

from agenticmail.errors import CloudflareError, CloudflareUnavailable
from agenticmail.providers.cloudflare import CloudflareApi
from agenticmail_testing.cloudflare_api import DNS, EMAIL_SENDING, FakeCloudflare


def test_envelopes_pages_and_error_shapes() -> None:
    with FakeCloudflare() as cf:
        zone = cf.add_zone("example.com")
        for n in range(7):
            cf.add_record(zone, "A", f"h{n}.example.com", f"192.0.2.{n}")
        token = cf.add_token({DNS})
        headers = {"Authorization": f"Bearer {token}"}
        page = httpx.get(f"{cf.base_url}/zones/{zone}/dns_records",
                         params={"per_page": 3, "page": 3}, headers=headers).json()
        assert page["success"] is True and page["errors"] == [] and page["messages"] == []
        assert page["result_info"] == {"page": 3, "per_page": 3, "count": 1,
                                       "total_count": 7, "total_pages": 3}
        refused = httpx.get(f"{cf.base_url}/accounts/{cf.account_id}/cfd_tunnel",
                            headers=headers)
        assert refused.status_code == 403
        assert refused.json()["success"] is False
        assert refused.json()["errors"] == [{"code": 10000, "message": "Authentication error"}]
        twice = httpx.post(f"{cf.base_url}/zones/{zone}/dns_records", headers=headers,
                           json={"type": "A", "name": "h1.example.com", "content": "192.0.2.1"})
        assert twice.json()["errors"][0]["code"] == 81058
        # the SDK walks every page
        with CloudflareApi(token, base_url=cf.base_url) as api:
            assert len(api.dns_records(zone, per_page=2)) == 7


def test_faults_are_injected_on_the_nth_call() -> None:
    with FakeCloudflare() as cf:
        zone = cf.add_zone("example.com")
        token = cf.add_token()
        cf.fail("GET", r"/dns_records$", nth=2, status=400, code=1004, message="nope")
        cf.fail("GET", r"/email/routing$", status=503, code=1000, message="down", times=9)
        with CloudflareApi(token, base_url=cf.base_url, max_retries=0) as api:
            api.dns_records(zone)
            with pytest.raises(CloudflareError, match="1004: nope"):
                api.dns_records(zone)
            api.dns_records(zone)
            with pytest.raises(CloudflareUnavailable, match="HTTP 503"):
                api.email_routing_enabled(zone)


def test_send_raw_is_recorded() -> None:
    with FakeCloudflare() as cf:
        token = cf.add_token({EMAIL_SENDING})
        raw = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
        with CloudflareApi(token, base_url=cf.base_url) as api:
            api.send_raw(cf.account_id, "a@example.com", ["b@example.org"], raw)
        [sent] = cf.sent
        assert sent["from"] == "a@example.com" and sent["recipients"] == ["b@example.org"]
        assert sent["raw"].encode() == raw
        with CloudflareApi(cf.add_token({DNS}), base_url=cf.base_url) as api, \
                pytest.raises(CloudflareError, match="10000"):
            api.send_raw(cf.account_id, "a@example.com", ["b@example.org"], raw)
