"""Tests of the Gatewarden guardrail hook: the matcher, the hook through LiteLLM's own pre-call walk, and
the poller against a real HTTP server (ETag/304, unreachable -> rules kept until expiry, then traffic passes).

    .cache/litellm-venv/bin/python -m unittest discover -s integrations/litellm -p 'test_gatewarden_guardrail.py' -v

CI runs it through test/integration/litellm-python-hooks.test.ts. The real-proxy e2e is in test/e2e/.
"""

import asyncio
import http.server
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.pop("GATEWARDEN_URL", None)  # the module-level instance must not poll anything here

from fastapi import HTTPException  # noqa: E402
from litellm.proxy._types import UserAPIKeyAuth  # noqa: E402

import gatewarden_guardrail as gg  # noqa: E402

KEY_HASH = "ab" * 32
T0 = 1_800_000_000_000  # epoch ms


def rule(rid, kind, sid, action=None, expires_at=T0 + 60_000, reason="loop detected"):
    return {
        "id": rid,
        "scope": {"kind": kind, "id": sid},
        "action": action or {"action": "block"},
        "reason": reason,
        "expires_at": expires_at,
    }


def down(mapping):
    return {"action": "downgrade", "map": mapping}


def active(version, *rules, generated_at=T0):
    return {"version": version, "generated_at": generated_at, "rules": list(rules)}


def request(model="gpt-4o", headers=None, metadata=None, **body):
    data = {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "proxy_server_request": {"url": "http://proxy/chat/completions", "method": "POST", "headers": headers or {}},
        "metadata": metadata if metadata is not None else {},
    }
    data.update(body)
    return data


def user(**kw):
    base = {"api_key": KEY_HASH, "token": KEY_HASH, "key_alias": "ci-key", "team_id": "team-1", "team_alias": "search"}
    base.update(kw)
    return UserAPIKeyAuth(**base)


class Clock:
    def __init__(self, ms=T0):
        self.ms = ms

    def __call__(self):
        return self.ms


def guard_with(*rules, clock=None):
    clock = clock or Clock()
    g = gg.GatewardenGuardrail(None, now_ms=clock)
    g.rules.replace(active("v1", *rules), None)
    return g


def run(coro):
    return asyncio.run(coro)


class AttributesTest(unittest.TestCase):
    def test_customer_order_follows_litellm_end_user_then_ingest_defaults(self):
        cases = [
            ({"ukd": {"end_user_id": "eu"}, "headers": {"x-litellm-customer-id": "h"}, "user": "b"}, "eu"),
            ({"headers": {"X-LiteLLM-Customer-Id": "h1"}, "user": "b"}, "h1"),
            ({"headers": {"x-litellm-end-user-id": "h2"}, "user": "b"}, "h2"),
            ({"user": "body-user", "metadata": {"tags": ["customer:t"]}}, "body-user"),
            ({"metadata": {"user_id": "md-user"}}, "md-user"),
            ({"metadata": {"spend_logs_metadata": {"customer": "slm"}, "tags": ["customer:t"]}}, "slm"),
            ({"metadata": {"tags": ["env:prod", "customer:globex"]}}, "globex"),
            ({"metadata": {"tags": ["customer:"]}}, None),
        ]
        for spec, want in cases:
            with self.subTest(spec=spec):
                data = request(headers=spec.get("headers"), metadata=spec.get("metadata"))
                if "user" in spec:
                    data["user"] = spec["user"]
                got = gg.request_attributes(data, user(**spec.get("ukd", {})))
                self.assertEqual(got["customer"], {want} if want else set())

    def test_agent_endpoint_key_team_model(self):
        data = request(
            model="claude-3-5-sonnet",
            headers={"x-agent-name": "nightly", "x-endpoint": "search"},
            metadata={"user_api_key_request_route": "/chat/completions"},
        )
        got = gg.request_attributes(data, user())
        self.assertEqual(got["agent"], {"nightly"})
        self.assertEqual(got["endpoint"], {"search"})
        self.assertEqual(got["key"], {KEY_HASH, "ci-key"})
        self.assertEqual(got["team"], {"team-1", "search"})
        self.assertEqual(got["model"], {"claude-3-5-sonnet"})
        # spend_logs_metadata wins over headers, tags come last; the route is the endpoint's fallback
        data = request(
            headers={"x-agent-name": "h"},
            metadata={"spend_logs_metadata": {"agent": "slm"}, "tags": ["endpoint:t"]},
        )
        got = gg.request_attributes(data, user())
        self.assertEqual((got["agent"], got["endpoint"]), ({"slm"}, {"t"}))
        got = gg.request_attributes(request(metadata={"user_api_key_request_route": "/embeddings"}), user())
        self.assertEqual(got["endpoint"], {"/embeddings"})


class DecideTest(unittest.TestCase):
    def test_block_beats_downgrade_whatever_the_order(self):
        g = guard_with(
            rule("r-down", "customer", "acme", down({"*": "gpt-4o-mini"})),
            rule("r-block", "team", "team-1"),
        )
        verdict, r, _ = g.decide(request(user="acme"), user())
        self.assertEqual((verdict, r["id"]), ("block", "r-block"))

    def test_downgrade_map_then_star(self):
        g = guard_with(rule("r1", "agent", "nightly", down({"gpt-4o": "gpt-4o-mini", "*": "cheap"})))
        hdr = {"x-agent-name": "nightly"}
        self.assertEqual(g.decide(request("gpt-4o", hdr), user())[2], "gpt-4o-mini")
        self.assertEqual(g.decide(request("o1", hdr), user())[2], "cheap")
        g = guard_with(rule("r2", "agent", "nightly", down({"gpt-4o": "gpt-4o-mini"})))
        self.assertEqual(g.decide(request("o1", hdr), user())[0], "pass")
        # a model already the target is left alone
        self.assertEqual(g.decide(request("gpt-4o-mini", hdr), user())[0], "pass")

    def test_star_applies_to_text_generation_only(self):
        g = guard_with(rule("r", "customer", "acme", down({"*": "gpt-4o-mini", "emb-large": "emb-small"})))
        self.assertEqual(g.decide(request("gpt-4o", user="acme"), user(), "acompletion")[2], "gpt-4o-mini")
        self.assertEqual(g.decide(request("emb-3", user="acme"), user(), "aembedding")[0], "pass")
        self.assertEqual(g.decide(request("emb-large", user="acme"), user(), "aembedding")[2], "emb-small")
        data = request("emb-3", user="acme")
        run(g.async_pre_call_hook(user(), None, data, "aembedding"))
        self.assertEqual(data["model"], "emb-3")

    def test_scope_must_match_exactly(self):
        g = guard_with(rule("r", "key", KEY_HASH), rule("r2", "model", "gpt-4o"))
        self.assertEqual(g.decide(request("o1"), user(api_key="cd" * 32, token="cd" * 32))[0], "pass")
        self.assertEqual(g.decide(request("o1"), user())[1]["id"], "r")
        self.assertEqual(g.decide(request("gpt-4o"), user(api_key="x", token="x", key_alias=None))[1]["id"], "r2")

    def test_expired_rules_are_dropped_by_the_local_clock_with_skew_corrected(self):
        clock = Clock()
        g = gg.GatewardenGuardrail(None, now_ms=clock)
        # Gatewarden's clock is 10 s behind ours: the rule has 60 s to run from the fetch
        g.rules.replace(active("v", rule("r", "model", "gpt-4o", expires_at=T0 + 50_000), generated_at=T0 - 10_000), None)
        clock.ms = T0 + 55_000
        self.assertEqual(g.decide(request(), user())[0], "block")
        clock.ms = T0 + 60_000
        self.assertEqual(g.decide(request(), user())[0], "pass")


class HookTest(unittest.TestCase):
    def test_hook_is_defined_on_the_class(self):
        self.assertIn("async_pre_call_hook", vars(gg.GatewardenGuardrail))
        self.assertIsInstance(gg.proxy_handler_instance, gg.GatewardenGuardrail)
        self.assertIsNone(gg.proxy_handler_instance.url)

    def test_block_raises_429_naming_rule_reason_and_expiry(self):
        g = guard_with(rule("rule-42", "customer", "acme", reason="budget acme exhausted"))
        data = request(user="acme")
        with self.assertRaises(HTTPException) as cm:
            run(g.async_pre_call_hook(user(), None, data, "acompletion"))
        e = cm.exception
        self.assertEqual(e.status_code, 429)
        msg = e.detail["error"]
        self.assertIn("rule-42", msg)
        self.assertIn("budget acme exhausted", msg)
        self.assertIn("Expires at 2027-01-15T08:01:00Z", msg)
        self.assertEqual(data["metadata"]["spend_logs_metadata"]["gatewarden_rule_id"], "rule-42")

    def test_downgrade_rewrites_model_and_tags_spend_logs_metadata(self):
        g = guard_with(rule("r-d", "customer", "acme", down({"gpt-4o": "gpt-4o-mini"})))
        key_slm = {"team": "core"}
        data = request(user="acme", metadata={"spend_logs_metadata": key_slm})
        out = run(g.async_pre_call_hook(user(), None, data, "acompletion"))
        self.assertIs(out, data)
        self.assertEqual(out["model"], "gpt-4o-mini")
        self.assertEqual(
            out["metadata"]["spend_logs_metadata"],
            {
                "team": "core",
                "gatewarden_rule_id": "r-d",
                "gatewarden_action": "downgrade",
                "gatewarden_model_requested": "gpt-4o",
            },
        )
        self.assertEqual(key_slm, {"team": "core"})  # the key's own dict is not mutated

    def test_litellm_metadata_routes_are_tagged_there(self):
        g = guard_with(rule("r", "model", "gpt-4o", down({"*": "gpt-4o-mini"})))
        data = request(metadata={})
        data["litellm_metadata"] = {"user_api_key_hash": KEY_HASH}
        run(g.async_pre_call_hook(user(), None, data, "aresponses"))
        self.assertEqual(data["litellm_metadata"]["spend_logs_metadata"]["gatewarden_rule_id"], "r")

    def test_fails_open_on_its_own_errors(self):
        g = guard_with(rule("r", "model", "gpt-4o"))

        def broken(*_a, **_k):
            raise RuntimeError("bug")

        g.decide = broken
        data = request()
        self.assertIs(run(g.async_pre_call_hook(user(), None, data, "acompletion")), data)
        self.assertEqual(data["model"], "gpt-4o")

    def test_through_litellm_proxy_logging_pre_call_hook(self):
        """LiteLLM's own walk (proxy/utils.py ProxyLogging.pre_call_hook) finds and honours the hook."""
        import litellm
        from litellm.caching.caching import DualCache
        from litellm.proxy.utils import ProxyLogging

        g = guard_with(
            rule("r-b", "customer", "blocked-co"),
            rule("r-d", "customer", "acme", down({"*": "gpt-4o-mini"})),
        )
        saved = litellm.callbacks
        litellm.callbacks = [g]
        try:
            pl = ProxyLogging(user_api_key_cache=DualCache())
            out = run(pl.pre_call_hook(user_api_key_dict=user(), data=request(user="acme"), call_type="acompletion"))
            self.assertEqual(out["model"], "gpt-4o-mini")
            with self.assertRaises(HTTPException) as cm:
                run(pl.pre_call_hook(user_api_key_dict=user(), data=request(user="blocked-co"), call_type="acompletion"))
            self.assertEqual(cm.exception.status_code, 429)
            out = run(pl.pre_call_hook(user_api_key_dict=user(), data=request(user="other"), call_type="acompletion"))
            self.assertEqual(out["model"], "gpt-4o")
        finally:
            litellm.callbacks = saved


class RulesServer:
    """A real HTTP server for /api/rules/active: ETag = version, 304 on If-None-Match, auth checked."""

    def __init__(self, doc, token="tok"):
        self.doc, self.token = doc, token
        self.seen = []  # (If-None-Match, Authorization, status)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                inm, auth = self.headers.get("If-None-Match"), self.headers.get("Authorization")
                etag = f'"{outer.doc["version"]}"'
                if self.path != "/api/rules/active":
                    status, body = 404, b"{}"
                elif auth != f"Bearer {outer.token}":
                    status, body = 401, b'{"error":"unauthorized"}'
                elif inm == etag:
                    status, body = 304, b""
                else:
                    status, body = 200, json.dumps(outer.doc).encode()
                outer.seen.append((inm, auth, status))
                self.send_response(status)
                if status in (200, 304):
                    self.send_header("ETag", etag)
                if body:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, *_a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class PollerTest(unittest.TestCase):
    def test_etag_304_then_unreachable_keeps_rules_until_expiry_then_passes(self):
        clock = Clock()
        srv = RulesServer(active("v1", rule("r1", "customer", "acme", expires_at=T0 + 30_000)))
        g = gg.GatewardenGuardrail(srv.url + "/", auth_token="tok", now_ms=clock, autostart=False)
        try:
            self.assertEqual(g.refresh_once(), "updated")
            self.assertEqual(g.refresh_once(), "unchanged")
            self.assertEqual(srv.seen, [(None, "Bearer tok", 200), ('"v1"', "Bearer tok", 304)])
            srv.doc = active("v2", rule("r2", "customer", "acme", expires_at=T0 + 30_000))
            self.assertEqual(g.refresh_once(), "updated")
            self.assertEqual([r["id"] for r in g.rules.active()], ["r2"])
        finally:
            srv.close()
        # Gatewarden is gone: the last rules stay in force until they expire
        self.assertEqual(g.refresh_once(), "failed")
        data = request(user="acme")
        with self.assertRaises(HTTPException):
            run(g.async_pre_call_hook(user(), None, data, "acompletion"))
        clock.ms = T0 + 30_000
        self.assertEqual(g.refresh_once(), "failed")
        out = run(g.async_pre_call_hook(user(), None, request(user="acme"), "acompletion"))
        self.assertEqual(out["model"], "gpt-4o")

    def test_bad_token_or_bad_body_keeps_last_rules(self):
        clock = Clock()
        srv = RulesServer(active("v1", rule("r1", "model", "gpt-4o")))
        try:
            g = gg.GatewardenGuardrail(srv.url, auth_token="tok", now_ms=clock, autostart=False)
            self.assertEqual(g.refresh_once(), "updated")
            g._token = "wrong"
            self.assertEqual(g.refresh_once(), "failed")
            self.assertEqual(srv.seen[-1][2], 401)
            g._token = "tok"
            srv.doc = {"version": "v9", "rules": "not a list"}
            self.assertEqual(g.refresh_once(), "failed")
            self.assertEqual([r["id"] for r in g.rules.active()], ["r1"])
        finally:
            srv.close()

    def test_background_poller_is_a_daemon_and_picks_up_changes(self):
        srv = RulesServer(active("v1"))
        g = gg.GatewardenGuardrail(srv.url, auth_token="tok", refresh_seconds=0.05)
        try:
            g.start()
            self.assertTrue(g._thread.daemon)
            self.assertTrue(g.rules.wait_for_version("v1", 10))
            srv.doc = active("v2", rule("r", "model", "gpt-4o", expires_at=4_000_000_000_000))
            self.assertTrue(g.rules.wait_for_version("v2", 10))
            with self.assertRaises(HTTPException):
                run(g.async_pre_call_hook(user(), None, request(), "acompletion"))
        finally:
            g.stop()
            srv.close()

    def test_the_hook_starts_the_poller_itself(self):
        """A worker forked after the config load has no poller: the first request starts it."""
        srv = RulesServer(active("v1", rule("r", "model", "gpt-4o", expires_at=4_000_000_000_000)))
        g = gg.GatewardenGuardrail(srv.url, auth_token="tok", refresh_seconds=0.05)
        try:
            self.assertIsNone(g._thread)
            run(g.async_pre_call_hook(user(), None, request("o1"), "acompletion"))
            self.assertTrue(g.rules.wait_for_version("v1", 10))
            with self.assertRaises(HTTPException):
                run(g.async_pre_call_hook(user(), None, request(), "acompletion"))
        finally:
            g.stop()
            srv.close()

    def test_from_env(self):
        g = gg.GatewardenGuardrail.from_env(
            {"GATEWARDEN_URL": "http://gw:8080/", "GATEWARDEN_AUTH_TOKEN": "t", "GATEWARDEN_RULES_REFRESH_SECONDS": "5"}
        )
        self.assertEqual((g.url, g.refresh_seconds), ("http://gw:8080", 5.0))
        self.assertIsNone(gg.GatewardenGuardrail.from_env({}).url)
        with self.assertRaisesRegex(ValueError, "GATEWARDEN_RULES_REFRESH_SECONDS"):
            gg.GatewardenGuardrail.from_env({"GATEWARDEN_RULES_REFRESH_SECONDS": "soon"})
        with self.assertRaisesRegex(ValueError, "GATEWARDEN_URL"):
            gg.GatewardenGuardrail.from_env({"GATEWARDEN_URL": "gw:8080"})


if __name__ == "__main__":
    unittest.main()
