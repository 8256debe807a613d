"""Gatewarden guardrail hook for the LiteLLM proxy: enforces Gatewarden's active rules on each request.

Gatewarden creates rules (block, or downgrade with a model map) for one scope (customer, team, key,
endpoint, agent, model) with an expiry and serves the ones in force on ``GET /api/rules/active``. This
hook keeps them in memory, refreshed by a daemon thread every GATEWARDEN_RULES_REFRESH_SECONDS (default
2) with ``If-None-Match`` (304: unchanged), and in ``async_pre_call_hook`` (after auth, before routing):

- a blocked scope gets HTTP 429 naming the rule id, its reason and when it expires;
- a downgraded scope has ``data["model"]`` rewritten (map lookup on the requested model, else ``*``), so
  LiteLLM routes and logs the new model group; block beats downgrade;
- either way the rule id goes into ``metadata.spend_logs_metadata`` (``gatewarden_rule_id``,
  ``gatewarden_action``, ``gatewarden_model_requested``), which reaches the logged StandardLoggingPayload.

Load it from the proxy config, this file next to config.yaml::

    litellm_settings:
      callbacks: ["gatewarden_guardrail.proxy_handler_instance"]

Environment: GATEWARDEN_URL (Gatewarden's base URL, required to enforce anything),
GATEWARDEN_AUTH_TOKEN (sent as ``Authorization: Bearer``), GATEWARDEN_RULES_REFRESH_SECONDS (default 2),
GATEWARDEN_RULES_TIMEOUT_SECONDS (per fetch, default 2).

Rules this module MUST keep:
- fail open: its own errors (Gatewarden down, a bad answer, a bug in matching) never fail a request;
  only a matching block rule raises;
- when Gatewarden is unreachable the last rules stay in force until each one's expiry, measured on the
  hook's own clock (expires_at shifted by the skew between Gatewarden's ``generated_at`` and the local
  clock at fetch time), then traffic passes;
- no thread that keeps the proxy from exiting (the poller is a daemon);
- ``async_pre_call_hook`` is defined on the class itself: LiteLLM only calls hooks found in
  ``vars(type(callback))``.
"""

# No `from __future__ import annotations`: LiteLLM loads this file with spec_from_file_location and does
# not put it in sys.modules (see the Kafka logger beside it).
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

LOG = logging.getLogger("LiteLLM.gatewarden_guardrail")

SCOPE_KINDS = ("customer", "team", "key", "endpoint", "agent", "model")
# LiteLLM's STANDARD_CUSTOMER_ID_HEADERS (litellm/constants.py), always read by its end-user resolution
CUSTOMER_HEADERS = ("x-litellm-customer-id", "x-litellm-end-user-id")


def _s(v: Any) -> str:
    """A scalar as a trimmed string ('' for anything else), like Gatewarden's readPath."""
    if isinstance(v, bool):
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, (int, float)):
        return str(v)
    return ""


def _d(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _first(values: Iterable[Any]) -> str:
    for v in values:
        s = _s(v)
        if s:
            return s
    return ""


def _tag(tags: list[str], name: str) -> str:
    prefix = name + ":"
    for t in tags:
        if t.startswith(prefix) and len(t) > len(prefix):
            return t[len(prefix):].strip()
    return ""


def metadata_key(data: Mapping[str, Any]) -> str:
    """LiteLLM's metadata field for this request: ``litellm_metadata`` on assistants/threads/batches-like
    routes (litellm_pre_call_utils.get_metadata_variable_name), else ``metadata``."""
    lm = data.get("litellm_metadata")
    if isinstance(lm, Mapping) and "user_api_key_hash" in lm and "user_api_key_hash" not in _d(data.get("metadata")):
        return "litellm_metadata"
    return "metadata"


def request_attributes(data: Mapping[str, Any], user_api_key_dict: Any) -> dict[str, set[str]]:
    """The values of each scope kind for one request, read as Gatewarden's ingest attributes the logged
    call (schemas/config.ts DEFAULT_ATTRIBUTION, core litellm mapper): first non-empty value wins for
    customer, agent and endpoint; a key matches by hash or alias, a team by id or alias."""
    headers = {str(k).lower(): v for k, v in _d(_d(data.get("proxy_server_request")).get("headers")).items()}
    md = _d(data.get(metadata_key(data)))
    body_md = _d(data.get("metadata"))
    lmd = _d(data.get("litellm_metadata"))
    slm = _d(md.get("spend_logs_metadata"))
    tags = [t for t in list(md.get("tags") or []) + list(data.get("tags") or []) if isinstance(t, str)]
    ukd = user_api_key_dict

    customer = _first(
        [
            # LiteLLM's own end-user id (auth_utils.get_end_user_id_from_request_body): the payload's end_user
            getattr(ukd, "end_user_id", None),
            *(headers.get(h) for h in CUSTOMER_HEADERS),
            data.get("user"),
            lmd.get("user"),
            body_md.get("user_id"),
            md.get("user_api_key_end_user_id"),
            slm.get("customer"),
            _tag(tags, "customer"),
        ]
    )
    agent = _first([slm.get("agent"), headers.get("x-agent-name"), _tag(tags, "agent")])
    endpoint = _first(
        [slm.get("endpoint"), headers.get("x-endpoint"), _tag(tags, "endpoint"), md.get("user_api_key_request_route")]
    )
    keys = {_s(getattr(ukd, a, None)) for a in ("api_key", "token", "key_alias")}
    keys |= {_s(md.get("user_api_key_hash")), _s(md.get("user_api_key_alias"))}
    teams = {_s(getattr(ukd, "team_id", None)), _s(getattr(ukd, "team_alias", None))}
    teams |= {_s(md.get("user_api_key_team_id")), _s(md.get("user_api_key_team_alias"))}
    out = {
        "customer": {customer},
        "agent": {agent},
        "endpoint": {endpoint},
        "key": keys,
        "team": teams,
        "model": {_s(data.get("model"))},
    }
    return {k: {v for v in vs if v} for k, vs in out.items()}


def matching_rules(rules: Iterable[Mapping[str, Any]], attrs: Mapping[str, set[str]]) -> list[Mapping[str, Any]]:
    """Rules whose scope matches the request, in the served order (blocks first, then oldest)."""
    out = []
    for r in rules:
        scope = _d(r.get("scope"))
        if _s(scope.get("id")) and _s(scope.get("id")) in attrs.get(_s(scope.get("kind")), set()):
            out.append(r)
    return out


# Call types a ``*`` downgrade applies to: text generation. An embedding or image call sent to a chat
# model would fail, so those only follow explicit map entries.
GENERATION_CALL_TYPES = frozenset(
    {
        "completion",
        "acompletion",
        "text_completion",
        "atext_completion",
        "responses",
        "aresponses",
        "anthropic_messages",
        "generate_content",
        "agenerate_content",
    }
)


def downgrade_target(rule: Mapping[str, Any], model: str, call_type: str | None = "acompletion") -> str:
    """The model a downgrade sends `model` to: the map's entry for it, else its ``*`` entry (text
    generation calls only), else ''."""
    m = _d(_d(rule.get("action")).get("map"))
    star = _s(m.get("*")) if call_type is None or call_type in GENERATION_CALL_TYPES else ""
    return _s(m.get(model)) or star


def _when(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class RuleBook:
    """The last active rules fetched, each with its expiry on the local clock. Replaced whole."""

    def __init__(self, now_ms: Callable[[], float]) -> None:
        self._now_ms = now_ms
        self.version: str | None = None
        self.etag: str | None = None
        self._rules: tuple[tuple[float, Mapping[str, Any]], ...] = ()
        self._changed = threading.Condition()

    def replace(self, doc: Mapping[str, Any], etag: str | None) -> None:
        rules = doc.get("rules")
        if not isinstance(rules, list):
            raise ValueError("answer has no rules list")
        now = self._now_ms()
        generated = doc.get("generated_at")
        skew = now - generated if isinstance(generated, (int, float)) and not isinstance(generated, bool) else 0
        kept = []
        for r in rules:
            exp = _d(r).get("expires_at")
            if isinstance(exp, (int, float)) and _d(_d(r).get("scope")).get("kind") in SCOPE_KINDS:
                kept.append((exp + skew, r))
        with self._changed:
            self._rules = tuple(kept)
            self.version = _s(doc.get("version")) or None
            self.etag = etag or (f'"{self.version}"' if self.version else None)
            self._changed.notify_all()

    def active(self) -> list[Mapping[str, Any]]:
        """Rules not yet expired on the local clock."""
        now = self._now_ms()
        return [r for exp, r in self._rules if exp > now]

    def wait_for_version(self, version: str, timeout: float) -> bool:
        """For tests: blocks until `version` is loaded (or `timeout` seconds pass)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.version == version, timeout)


class GatewardenGuardrail(CustomLogger):
    """The hook. Construct with ``from_env()``; ``start()`` begins polling (daemon thread)."""

    def __init__(
        self,
        url: str | None,
        auth_token: str | None = None,
        refresh_seconds: float = 2.0,
        timeout_seconds: float = 2.0,
        now_ms: Callable[[], float] | None = None,
        autostart: bool = True,
    ) -> None:
        super().__init__()
        # the hook (re)starts the poller on a request: a worker forked after the config load has none
        self.autostart = autostart
        self.url = (url or "").rstrip("/") or None
        self._token = auth_token or None
        self.refresh_seconds = max(0.05, refresh_seconds)
        self.timeout_seconds = max(0.05, timeout_seconds)
        self.rules = RuleBook(now_ms or (lambda: time.time() * 1000))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reachable: bool | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "GatewardenGuardrail":
        e = os.environ if env is None else env

        def num(name: str, default: float) -> float:
            raw = e.get(name, "").strip()
            try:
                v = float(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
            if v <= 0:
                raise ValueError(f"{name} must be > 0, got {raw!r}")
            return v

        url = e.get("GATEWARDEN_URL", "").strip()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"GATEWARDEN_URL must be an http(s) base URL, got {url!r}")
        return cls(
            url or None,
            e.get("GATEWARDEN_AUTH_TOKEN", "").strip() or None,
            num("GATEWARDEN_RULES_REFRESH_SECONDS", 2.0),
            num("GATEWARDEN_RULES_TIMEOUT_SECONDS", 2.0),
        )

    # --- polling -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts the daemon poller (first fetch at once). A no-op without GATEWARDEN_URL or when running."""
        if self.url is None or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="gatewarden-rules", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_seconds + 1)

    def _poll(self) -> None:
        while True:
            self.refresh_once()
            if self._stop.wait(self.refresh_seconds):
                return

    def refresh_once(self) -> str:
        """One fetch of /api/rules/active: 'updated', 'unchanged' (304) or 'failed' (rules kept). Never raises."""
        if self.url is None:
            return "failed"
        headers = {"Accept": "application/json", "User-Agent": "gatewarden-litellm-guardrail"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self.rules.etag:
            headers["If-None-Match"] = self.rules.etag
        req = urllib.request.Request(f"{self.url}/api/rules/active", headers=headers, method="GET")
        try:
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_seconds) as res:  # noqa: S310 - configured URL
                    body = res.read()
                    etag = res.headers.get("ETag")
            except urllib.error.HTTPError as e:
                if e.code == 304:
                    self._mark(True)
                    return "unchanged"
                raise
            doc = json.loads(body)
            if not isinstance(doc, Mapping):
                raise ValueError("answer is not a JSON object")
            self.rules.replace(doc, etag)
            self._mark(True)
            return "updated"
        except Exception as e:  # noqa: BLE001 - fail open: keep the last rules
            self._mark(False, e)
            return "failed"

    def _mark(self, ok: bool, err: BaseException | None = None) -> None:
        if ok and self._reachable is not True:
            LOG.info("gatewarden rules: fetched from %s", self.url)
        elif not ok and self._reachable is not False:
            # the message only: a URL with credentials is not printed (the token is a header)
            LOG.warning(
                "gatewarden rules: fetch failed (%s); keeping %d rule(s) until they expire",
                type(err).__name__ if err else "error",
                len(self.rules.active()),
            )
        self._reachable = ok

    # --- the hook --------------------------------------------------------------------------------

    def decide(
        self, data: dict, user_api_key_dict: Any, call_type: str | None = None
    ) -> tuple[str, Mapping[str, Any] | None, str]:
        """('block' | 'downgrade' | 'pass', rule, new model) for one request."""
        active = self.rules.active()
        if not active:
            return "pass", None, ""
        hits = matching_rules(active, request_attributes(data, user_api_key_dict))
        for r in hits:
            if _d(r.get("action")).get("action") == "block":
                return "block", r, ""
        model = _s(data.get("model"))
        for r in hits:
            if _d(r.get("action")).get("action") == "downgrade":
                to = downgrade_target(r, model, call_type)
                if to and to != model:
                    return "downgrade", r, to
        return "pass", None, ""

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):  # noqa: ANN001
        try:
            if self.autostart and not self._stop.is_set():
                self.start()  # a no-op while the poller runs
            if not isinstance(data, dict):
                return data
            verdict, rule, to = self.decide(data, user_api_key_dict, _s(call_type) or None)
            if rule is None:
                return data
            self._tag(data, rule, verdict)
            if verdict == "downgrade":
                LOG.info("gatewarden rule %s: %s -> %s", rule.get("id"), data.get("model"), to)
                data["model"] = to
                return data
            scope = _d(rule.get("scope"))
            expires = float(_d(rule).get("expires_at") or 0)
            message = (
                f"Blocked by Gatewarden rule {rule.get('id')} ({scope.get('kind')} {scope.get('id')}): "
                f"{_s(rule.get('reason')) or 'guardrail'}. Expires at {_when(expires)}."
            )
            retry_after = max(1, int((expires - time.time() * 1000) / 1000) + 1)
            blocked = HTTPException(
                status_code=429,
                detail={
                    "error": message,
                    "gatewarden_rule_id": rule.get("id"),
                    "expires_at": _when(expires),
                },
                headers={"retry-after": str(retry_after)},
            )
        except Exception as e:  # noqa: BLE001 - fail open
            LOG.warning("gatewarden guardrail: skipped on its own error (%s)", type(e).__name__)
            return data
        raise blocked

    @staticmethod
    def _tag(data: dict, rule: Mapping[str, Any], verdict: str) -> None:
        """Puts the rule id where the logged StandardLoggingPayload carries it (metadata.spend_logs_metadata)."""
        key = metadata_key(data)
        md = data.get(key)
        if not isinstance(md, dict):
            md = {}
            data[key] = md
        slm = dict(_d(md.get("spend_logs_metadata")))  # a copy: it may be the key's own dict
        slm["gatewarden_rule_id"] = _s(rule.get("id"))
        slm["gatewarden_action"] = verdict
        slm["gatewarden_model_requested"] = _s(data.get("model"))
        md["spend_logs_metadata"] = slm


proxy_handler_instance = GatewardenGuardrail.from_env()
proxy_handler_instance.start()
