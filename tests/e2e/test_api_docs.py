"""``/v1/docs`` works offline (issue 17 #14): every asset the page loads is served by the
daemon itself, none from a CDN."""

from __future__ import annotations

import re

from agenticmail_testing.daemon import DaemonHandle


def test_docs_page_loads_only_local_assets(daemon: DaemonHandle) -> None:
    with daemon.client(None) as anonymous:
        page = anonymous.get("/v1/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
        assert urls, page.text
        assert not [u for u in urls if "//" in u], urls  # nothing from another host
        assert "/v1/openapi.json" in urls
        for url in urls:
            got = anonymous.get(url)
            assert got.status_code == 200 and got.content, url
        script = anonymous.get("/v1/docs/assets/swagger-ui-bundle.js")
        assert "javascript" in script.headers["content-type"] and b"SwaggerUI" in script.content
        assert anonymous.get("/v1/docs/oauth2-redirect").status_code == 200
