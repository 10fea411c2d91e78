"""The fake Stalwart's object registry and rules (v0.16 shapes): dispatch of
``x:<Type>/get|set|query``, encodings, JSON-pointer patches, SetErrors, bootstrap, password
strength. Served over HTTP by :mod:`.fake_stalwart`."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import threading
from pathlib import Path
from typing import Any

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
SPECIAL_TLDS = {"test", "localhost", "local", "internal", "lan", "home", "corp", "intranet",
                "private", "localdomain"}
PUBLIC_TLDS = {"com", "org", "net", "io", "dev", "de", "uk", "fr", "app", "email"}
COMMON = {"password", "password1", "12345678", "123456789", "qwertyuiop", "iloveyou1",
          "letmein1", "admin123", "welcome1", "correcthorse"}
SET_FIELDS = {"Account": ("memberGroupIds",), "Domain": ("aliases",), "NetworkListener": ("bind",)}
LIST_FIELDS = {"Account": ("aliases", "credentials")}
SINGLETONS = ("SystemSettings", "MtaOutboundStrategy", "Bootstrap", "Imap")
TYPES = ("Domain", "Account", "DkimSignature", "SystemSettings", "MtaRoute",
         "MtaOutboundStrategy", "Action", "Bootstrap", "NetworkListener", "Imap")
DEFAULT_ROUTE = {"match": {"0": {"if": "is_local_domain(rcpt_domain)", "then": "'local'"}},
                 "else": "'mx'"}


class JmapFail(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("type"))
        self.error = error


def valid_domain(name: str) -> bool:
    if name == "localhost":
        return True
    labels = name.split(".")
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", x)
                                  for x in labels):
        return False
    return labels[-1] in SPECIAL_TLDS or labels[-1] in PUBLIC_TLDS


def password_score(pw: str) -> int:
    """A small stand-in for zxcvbn: 0..4 from length, character classes and repetition."""
    if pw.lower() in COMMON or len(set(pw)) <= 3:
        return 0
    pool = sum(n for rx, n in ((r"[a-z]", 26), (r"[A-Z]", 26), (r"[0-9]", 10),
                                (r"[^a-zA-Z0-9]", 33)) if re.search(rx, pw))
    bits = len(pw) * math.log2(max(pool, 2)) * min(1.0, len(set(pw)) / max(len(pw) * 0.5, 1))
    return 0 if bits < 28 else 1 if bits < 36 else 2 if bits < 50 else 3 if bits < 70 else 4


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(8)
    return "$fake$" + salt.hex() + "$" + hashlib.sha256(salt + secret.encode()).hexdigest()


def check_secret(stored: str, secret: str) -> bool:
    if not stored.startswith("$fake$"):
        return secrets.compare_digest(stored, secret)
    _, _, salt, digest = stored.split("$")
    return secrets.compare_digest(
        hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest(), digest)


class Registry:
    """The server's objects and rules; thread-safe through one lock."""

    def __init__(self, *, recovery_admin: str | None, config_dir: Path | None,
                 bootstrap: bool) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TYPES}
        self.counter = 0
        self.recovery_admin = recovery_admin
        self.config_dir = config_dir
        self.bootstrap_mode = bootstrap
        self.reloads = 0
        self.calls: list[str] = []
        self.objects["SystemSettings"]["singleton"] = {"id": "singleton",
                                                       "defaultHostname": "localhost"}
        self.objects["MtaOutboundStrategy"]["singleton"] = {"id": "singleton",
                                                            "route": DEFAULT_ROUTE}
        # like the server: no LOGIN on a connection without TLS until this is turned on
        self.objects["Imap"]["singleton"] = {"id": "singleton", "allowPlainTextAuth": False}

    def restart(self, *, recovery_admin: str | None) -> None:
        """What a container restart changes: the mode (config.json present?) and the env."""
        with self.lock:
            self.recovery_admin = recovery_admin
            has_config = self.config_dir is None or (self.config_dir / "config.json").exists()
            self.bootstrap_mode = not has_config
            if has_config and not any(self.objects["NetworkListener"].values()):
                for name, proto, port, tls in (
                    ("smtp", "smtp", 25, False), ("submissions", "smtp", 465, True),
                    ("imaps", "imap", 993, True), ("pop3s", "pop3", 995, True),
                    ("sieve", "managesieve", 4190, False), ("https", "http", 443, True),
                    ("http", "http", 8080, False),
                ):
                    self._store("NetworkListener", {"name": name, "protocol": proto,
                                                    "bind": {f"[::]:{port}": True},
                                                    "tlsImplicit": tls})

    # -- ids and storage ------------------------------------------------------------------
    def new_id(self) -> str:
        self.counter += 1
        n, out = self.counter + 40, ""
        while n:
            n, r = divmod(n, 32)
            out = ALPHABET[r] + out
        return out

    def _store(self, kind: str, obj: dict[str, Any]) -> str:
        oid = self.new_id()
        self.objects[kind][oid] = {**obj, "id": oid}
        return oid

    # -- auth -----------------------------------------------------------------------------
    def authenticate(self, header: str | None) -> tuple[str, bool] | None:
        """(username, is_admin) for a valid Basic credential, else None."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        with self.lock:
            if self.recovery_admin and f"{user}:{secret}" == self.recovery_admin:
                return user, True
            if self.bootstrap_mode:
                return None
            acct = self.account_by_login(user)
            if acct and any(check_secret(c.get("secret", ""), secret)
                            for c in acct["credentials"].values()):
                return user, acct.get("roles", {}).get("@type") == "Admin"
        return None

    def account_by_login(self, login: str) -> dict[str, Any] | None:
        local, _, domain = login.lower().partition("@")
        for acct in self.objects["Account"].values():
            dom = self.objects["Domain"].get(acct["domainId"], {}).get("name")
            if acct["name"] == local and dom == domain:
                return acct
        return None

    def email_of(self, acct: dict[str, Any]) -> str:
        return f"{acct['name']}@{self.objects['Domain'].get(acct['domainId'], {}).get('name')}"

    # -- dispatch -------------------------------------------------------------------------
    def handle(self, body: dict[str, Any], admin: bool) -> dict[str, Any]:
        responses: list[list[Any]] = []
        for call in body.get("methodCalls") or []:
            name, args, call_id = call
            self.calls.append(name)
            try:
                args = self._resolve_refs(args, responses)
                m = re.fullmatch(r"x:(\w+)/(get|set|query)", name)
                if not m or m[1] not in TYPES:
                    raise JmapFail({"type": "unknownMethod", "description": name})
                if not admin:
                    raise JmapFail({"type": "forbidden", "description": "not an administrator"})
                with self.lock:
                    result = getattr(self, f"_{m[2]}")(m[1], args)
                responses.append([name, {"accountId": "d333333", **result}, call_id])
            except JmapFail as exc:
                responses.append(["error", exc.error, call_id])
        return {"methodResponses": responses, "sessionState": f"s{self.counter}"}

    def _resolve_refs(self, args: dict[str, Any], done: list[list[Any]]) -> dict[str, Any]:
        out = {}
        for key, value in args.items():
            if not key.startswith("#"):
                out[key] = value
                continue
            match = [r for r in done if r[2] == value["resultOf"] and r[0] == value["name"]]
            if not match:
                raise JmapFail({"type": "invalidResultReference"})
            node: Any = match[0][1]
            for part in value["path"].strip("/").split("/"):
                node = [n.get(part[1:] if part.startswith("*") else part) for n in node] \
                    if part != "*" and isinstance(node, list) else node if part == "*" \
                    else node[part]
            out[key[1:]] = node
        return out

    # -- get / query ----------------------------------------------------------------------
    def _view(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        view = json.loads(json.dumps(obj))
        if kind == "Account":
            for cred in view.get("credentials", {}).values():
                cred["secret"] = "****"
            view["emailAddress"] = self.email_of(obj)
            view.setdefault("usedDiskQuota", 0)
        if kind == "Domain":
            view["dnsZoneFile"] = self.zone_file(obj)
        if kind == "DkimSignature":
            view["privateKey"] = {"@type": "Text", "secret": "****"}
        if kind == "MtaRoute" and "authSecret" in view:
            view["authSecret"] = {"@type": "Value", "secret": "****"}
        return view

    def _get(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        table = self.objects[kind]
        ids = args.get("ids")
        ids = list(table) if ids is None else ids
        found = [self._view(kind, table[i]) for i in ids if i in table]
        props = args.get("properties")
        if props:
            found = [{"id": o["id"], **{p: o.get(p) for p in props}} for o in found]
        return {"list": found, "notFound": [i for i in ids if i not in table]}

    def _query(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        flt = args.get("filter") or {}
        ids = []
        for oid, obj in self.objects[kind].items():
            ok = True
            for key, want in flt.items():
                if key == "text":
                    ok = ok and want.lower() in json.dumps(obj).lower()
                elif key == "memberGroupIds":
                    ok = ok and want in obj.get("memberGroupIds", {})
                else:
                    ok = ok and obj.get(key) == want
            if ok:
                ids.append(oid)
        pos, limit = int(args.get("position") or 0), args.get("limit")
        page = ids[pos:pos + limit] if limit else ids[pos:]
        out: dict[str, Any] = {"ids": page, "position": pos, "queryState": "q"}
        if args.get("calculateTotal"):
            out["total"] = len(ids)
        return out

    # -- set ------------------------------------------------------------------------------
    def _set(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        created, not_created = {}, {}
        for cid, obj in (args.get("create") or {}).items():
            try:
                created[cid] = {"id": self._create(kind, dict(obj))}
            except JmapFail as exc:
                not_created[cid] = exc.error
        updated, not_updated = {}, {}
        for oid, patch in (args.get("update") or {}).items():
            try:
                updated[oid] = self._update(kind, oid, patch)
            except JmapFail as exc:
                not_updated[oid] = exc.error
        destroyed, not_destroyed = [], {}
        for oid in args.get("destroy") or []:
            try:
                self._destroy(kind, oid)
                destroyed.append(oid)
            except JmapFail as exc:
                not_destroyed[oid] = exc.error
        for key, val in (("created", created), ("notCreated", not_created),
                         ("updated", updated), ("notUpdated", not_updated),
                         ("destroyed", destroyed), ("notDestroyed", not_destroyed)):
            if val:
                out[key] = val
        return out

    def _check_encodings(self, kind: str, obj: dict[str, Any]) -> None:
        for fld in SET_FIELDS.get(kind, ()) + LIST_FIELDS.get(kind, ()):
            if fld in obj and not isinstance(obj[fld], dict):
                raise JmapFail({"type": "invalidPatch", "properties": [fld],
                                "description": f"Invalid value for {fld}: expected an object"})
        for fld in SET_FIELDS.get(kind, ()):
            if any(v is not True for v in obj.get(fld, {}).values()):
                raise JmapFail({"type": "invalidPatch", "properties": [fld]})

    def _check_account(self, obj: dict[str, Any], self_id: str | None) -> None:
        if obj.get("domainId") not in self.objects["Domain"]:
            raise JmapFail({"type": "invalidForeignKey", "properties": ["domainId"],
                            "description": f"Domain {obj.get('domainId')} does not exist"})
        if not re.fullmatch(r"[a-z0-9][a-z0-9._+-]*", str(obj.get("name", ""))):
            raise JmapFail({"type": "invalidProperties", "properties": ["name"],
                            "description": "Invalid account name"})
        mine = {(obj["name"], obj["domainId"])} | {
            (a["name"], a["domainId"]) for a in obj.get("aliases", {}).values()}
        for other in self.objects["Account"].values():
            if other["id"] == self_id:
                continue
            theirs = {(other["name"], other["domainId"])} | {
                (a["name"], a["domainId"]) for a in other.get("aliases", {}).values()}
            if mine & theirs:
                raise JmapFail({"type": "primaryKeyViolation", "properties": ["name"],
                                "objectId": {"object": "Account", "id": other["id"]},
                                "description": "An object with this name already exists"})
        for cred in obj.get("credentials", {}).values():
            secret = str(cred.get("secret", ""))
            if secret.startswith(("$", "{")):
                continue
            if not 8 <= len(secret) <= 128 or password_score(secret) < 3:
                raise JmapFail({"type": "invalidProperties", "properties": ["secret"],
                                "description": "Password is too weak. Add another word or two. "
                                               "Uncommon words are better."})
            cred["secret"] = hash_secret(secret)

    def _validate(self, kind: str, obj: dict[str, Any], self_id: str | None) -> None:
        self._check_encodings(kind, obj)
        if kind == "Account":
            self._check_account(obj, self_id)
        elif kind == "Domain":
            name = str(obj.get("name", ""))
            if not valid_domain(name):
                raise JmapFail({"type": "invalidProperties", "properties": ["name"],
                                "description": f"Invalid domain name {name!r}"})
            for other in self.objects["Domain"].values():
                if other["name"] == name and other["id"] != self_id:
                    raise JmapFail({"type": "primaryKeyViolation", "properties": ["name"],
                                    "objectId": {"object": "Domain", "id": other["id"]}})
        elif kind == "DkimSignature" and obj.get("domainId") not in self.objects["Domain"]:
            raise JmapFail({"type": "invalidForeignKey", "properties": ["domainId"]})
        elif kind == "MtaRoute":
            for other in self.objects["MtaRoute"].values():
                if other.get("name") == obj.get("name") and other["id"] != self_id:
                    raise JmapFail({"type": "primaryKeyViolation", "properties": ["name"]})

    def _create(self, kind: str, obj: dict[str, Any]) -> str:
        if kind in SINGLETONS:
            raise JmapFail({"type": "singleton", "description": f"{kind} is a singleton"})
        if kind == "Action":
            if obj.get("@type") == "ReloadSettings":
                self.reloads += 1
            return self.new_id()
        if kind == "Account":
            obj.setdefault("aliases", {})
            obj.setdefault("memberGroupIds", {})
            obj.setdefault("credentials", {})
            obj.setdefault("quotas", {})
        self._validate(kind, obj, None)
        oid = self._store(kind, obj)
        if kind == "Domain" and obj.get("dkimManagement", {}).get("@type") == "Automatic":
            for algo, sel in (("Dkim1Ed25519Sha256", "ed"), ("Dkim1RsaSha256", "rsa")):
                self._store("DkimSignature", {"@type": algo, "domainId": oid,
                                              "selector": f"{sel}-{oid}",
                                              "publicKey": base64.b64encode(
                                                  secrets.token_bytes(32)).decode()})
        return oid

    def _update(self, kind: str, oid: str, patch: dict[str, Any]) -> Any:
        if kind == "Bootstrap":
            return self._bootstrap(oid, patch)
        table = self.objects[kind]
        if oid not in table:
            raise JmapFail({"type": "notFound"})
        obj = json.loads(json.dumps(table[oid]))
        for key, value in patch.items():
            if "/" in key:
                prop, _, sub = key.partition("/")
                container = obj.get(prop)
                if not isinstance(container, dict) or not sub or "/" in sub:
                    raise JmapFail({"type": "invalidPatch", "properties": [prop]})
                if value is None:
                    container.pop(sub, None)
                else:
                    container[sub] = value
            else:
                if kind == "MtaRoute" and key == "name":
                    raise JmapFail({"type": "invalidProperties", "properties": ["name"],
                                    "description": "name can only be set on create"})
                obj[key] = value
        self._validate(kind, obj, oid)
        table[oid] = obj
        return None

    def _destroy(self, kind: str, oid: str) -> None:
        table = self.objects[kind]
        if oid not in table:
            raise JmapFail({"type": "notFound"})
        if kind == "Domain":
            linked = [{"object": k, "id": o["id"]} for k in ("Account", "DkimSignature")
                      for o in self.objects[k].values() if o.get("domainId") == oid]
            if linked:
                raise JmapFail({"type": "objectIsLinked", "linkedObjects": linked,
                                "description": "Object is referenced by other objects"})
        del table[oid]

    def _bootstrap(self, oid: str, patch: dict[str, Any]) -> Any:
        if oid != "singleton":
            raise JmapFail({"type": "notFound"})
        if not self.bootstrap_mode:
            raise JmapFail({"type": "forbidden", "description": "Server is already configured"})
        domain = str(patch.get("defaultDomain") or "")
        if not valid_domain(domain):
            raise JmapFail({"type": "invalidProperties", "properties": ["defaultDomain"]})
        if patch.get("tracer", {}).get("@type") not in (None, "Stdout", "Log", "Journal"):
            raise JmapFail({"type": "invalidProperties", "properties": ["tracer"]})
        self.objects["SystemSettings"]["singleton"]["defaultHostname"] = patch.get(
            "serverHostname", domain)
        dom_id = self._create("Domain", {
            "name": domain, "aliases": {}, "certificateManagement": {"@type": "Manual"},
            "dkimManagement": {"@type": "Automatic" if patch.get("generateDkimKeys")
                               else "Manual"},
            "dnsManagement": {"@type": "Manual"}, "subAddressing": {"@type": "Enabled"}})
        secret = secrets.token_urlsafe(12)[:16]
        self._store("Account", {"@type": "User", "name": "admin", "domainId": dom_id,
                                "credentials": {"0": {"@type": "Password",
                                                      "secret": hash_secret(secret)}},
                                "roles": {"@type": "Admin"}, "aliases": {},
                                "memberGroupIds": {}, "quotas": {}})
        if self.config_dir is not None:
            (self.config_dir / "config.json").write_text(
                json.dumps({"@type": "RocksDb", "path": "/var/lib/stalwart/"}))
        return {"username": f"admin@{domain}", "secret": secret}

    def zone_file(self, dom: dict[str, Any]) -> str:
        name = dom["name"]
        host = self.objects["SystemSettings"]["singleton"].get("defaultHostname", name)
        lines = [f"{name}. IN MX 10 {host}.",
                 f'{name}. IN TXT "v=spf1 mx ra=postmaster -all"',
                 f'_dmarc.{name}. IN TXT "v=DMARC1; p=reject; rua=mailto:postmaster@{name}"',
                 f"_imaps._tcp.{name}. IN SRV 0 1 993 {host}."]
        for sig in self.objects["DkimSignature"].values():
            if sig["domainId"] == dom["id"]:
                algo = "ed25519" if "Ed25519" in sig["@type"] else "rsa"
                lines.append(f'{sig["selector"]}._domainkey.{name}. IN TXT '
                             f'"v=DKIM1; k={algo}; h=sha256; p={sig.get("publicKey", "")}"')
        return "\n".join(lines) + "\n"
