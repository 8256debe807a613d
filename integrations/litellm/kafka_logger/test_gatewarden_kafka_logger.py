"""Unit tests with a fake producer (no broker).

    .cache/litellm-venv/bin/python -m unittest discover -s integrations/litellm/kafka_logger -v

The real-broker, real-proxy test is test/e2e/litellm-kafka.test.ts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import gatewarden_kafka_logger as gkl  # noqa: E402

ENV = {"GATEWARDEN_KAFKA_BROKERS": "127.0.0.1:9092"}


class FakeMsg:
    def __init__(self, key: bytes | None) -> None:
        self._key = key

    def key(self) -> bytes | None:
        return self._key


class FakeError:
    def __init__(self, name: str, fatal: bool = False) -> None:
        self._name, self._fatal = name, fatal

    def name(self) -> str:
        return self._name

    def str(self) -> str:
        return self._name.lower()

    def code(self) -> int:
        return 1

    def fatal(self) -> bool:
        return self._fatal


class FakeProducer:
    def __init__(self, conf: dict, capacity: int = 10) -> None:
        self.conf, self.capacity = conf, capacity
        self.queue: list[tuple[dict, object]] = []
        self.sent: list[dict] = []
        self.flushed: list[float] = []

    def produce(self, topic, value=None, key=None, headers=None, on_delivery=None):  # noqa: ANN001
        if len(self.queue) >= self.capacity:
            raise BufferError("Local: Queue full")
        self.queue.append(({"topic": topic, "value": value, "key": key, "headers": headers}, on_delivery))

    def poll(self, timeout: float) -> int:
        return 0

    def deliver(self, err: object = None) -> None:
        for m, cb in self.queue:
            self.sent.append(m)
            cb(err, FakeMsg(m["key"]))
        self.queue.clear()

    def flush(self, timeout: float) -> int:
        self.flushed.append(timeout)
        self.deliver()
        return 0


def payload(call_id: str = "call-1") -> dict:
    return {"id": "chatcmpl-x", "litellm_call_id": call_id, "response_cost": 0.00125, "status": "success"}


class ConfigTest(unittest.TestCase):
    def test_defaults_and_producer_config(self) -> None:
        c = gkl.KafkaLoggerConfig.from_env(ENV)
        self.assertEqual(c.topic, "litellm-spend")
        p = c.producer_config()
        self.assertEqual(p["acks"], "all")
        self.assertIs(p["enable.idempotence"], True)
        self.assertEqual(p["linger.ms"], 50)
        self.assertEqual(p["queue.buffering.max.messages"], 100_000)
        self.assertEqual(p["security.protocol"], "PLAINTEXT")
        self.assertNotIn("sasl.password", p)

    def test_every_problem_is_named(self) -> None:
        with self.assertRaises(gkl.KafkaLoggerConfigError) as e:
            gkl.KafkaLoggerConfig.from_env(
                {"GATEWARDEN_KAFKA_TOPIC": "bad topic", "GATEWARDEN_KAFKA_LINGER_MS": "x",
                 "GATEWARDEN_KAFKA_SASL_MECHANISM": "scram-sha-512", "GATEWARDEN_KAFKA_COMPRESSION": "zstd"}
            )
        msg = str(e.exception)
        for name in ("BROKERS is not set", "TOPIC", "LINGER_MS", "SASL_USERNAME", "SASL_PASSWORD", "COMPRESSION"):
            self.assertIn(name, msg)

    def test_sasl_defaults_to_sasl_ssl(self) -> None:
        c = gkl.KafkaLoggerConfig.from_env(
            {**ENV, "GATEWARDEN_KAFKA_SASL_MECHANISM": "scram-sha-512", "GATEWARDEN_KAFKA_SASL_USERNAME": "gw",
             "GATEWARDEN_KAFKA_SASL_PASSWORD": "s3cret"}
        )
        p = c.producer_config()
        self.assertEqual((p["security.protocol"], p["sasl.mechanism"], p["sasl.password"]),
                         ("SASL_SSL", "SCRAM-SHA-512", "s3cret"))
        self.assertNotIn("s3cret", repr(c))


class LoggerTest(unittest.TestCase):
    def make(self, capacity: int = 10, **env: str) -> tuple[gkl.GatewardenKafkaLogger, list[FakeProducer]]:
        made: list[FakeProducer] = []

        def factory(conf: dict) -> FakeProducer:
            made.append(FakeProducer(conf, capacity))
            return made[-1]

        lg = gkl.GatewardenKafkaLogger(
            config=gkl.KafkaLoggerConfig.from_env({**ENV, **env}), producer_factory=factory, install_sigterm_hook=False
        )
        self.addCleanup(lg.close, 0)
        return lg, made

    def test_success_and_failure_are_keyed_by_call_id(self) -> None:
        lg, made = self.make()
        asyncio.run(lg.async_log_success_event({"standard_logging_object": payload("a")}, None, None, None))
        lg.log_failure_event({"standard_logging_object": payload("b")}, None, None, None)
        made[0].deliver()
        self.assertEqual([m["key"] for m in made[0].sent], [b"a", b"b"])
        self.assertEqual(made[0].sent[0]["topic"], "litellm-spend")
        self.assertIn(("x-litellm-event", b"failure"), made[0].sent[1]["headers"])
        self.assertEqual(lg.stats(), {"enqueued": 2, "delivered": 2})

    def test_full_queue_drops_and_counts_without_raising_or_logging_the_payload(self) -> None:
        lg, made = self.make(capacity=1)
        secret = payload("c")
        secret["messages"] = [{"role": "user", "content": "PROMPT-TEXT-MUST-NOT-BE-LOGGED"}]
        with self.assertLogs(gkl.LOG, level=logging.WARNING) as logs:
            for _ in range(3):
                lg.log_success_event({"standard_logging_object": secret}, None, None, None)
        self.assertEqual(lg.stats(), {"enqueued": 1, "dropped_queue_full": 2})
        self.assertEqual(lg.dropped, 2)
        self.assertEqual(len(logs.output), 1, "drops are throttled")
        self.assertNotIn("PROMPT-TEXT", "\n".join(logs.output))

    def test_delivery_failure_is_a_counted_drop(self) -> None:
        lg, made = self.make()
        lg.log_success_event({"standard_logging_object": payload()}, None, None, None)
        with self.assertLogs(gkl.LOG, level=logging.WARNING):
            made[0].deliver(FakeError("_MSG_TIMED_OUT"))
        self.assertEqual(lg.stats()["dropped_delivery_failed"], 1)

    def test_too_large_and_missing_payload(self) -> None:
        lg, made = self.make(GATEWARDEN_KAFKA_MAX_MESSAGE_BYTES="1000")
        big = payload()
        big["blob"] = "x" * 2000
        with self.assertLogs(gkl.LOG, level=logging.WARNING):
            lg.log_success_event({"standard_logging_object": big}, None, None, None)
        lg.log_success_event({}, None, None, None)
        self.assertEqual(lg.stats(), {"dropped_too_large": 1, "skipped_no_payload": 1})

    def test_close_flushes_once_and_later_events_are_dropped(self) -> None:
        lg, made = self.make(GATEWARDEN_KAFKA_FLUSH_TIMEOUT_S="3")
        lg.log_success_event({"standard_logging_object": payload()}, None, None, None)
        lg.close()
        lg.close()
        self.assertEqual(made[0].flushed, [3.0])
        self.assertEqual(lg.stats()["delivered"], 1)
        with self.assertLogs(gkl.LOG, level=logging.WARNING):
            lg.log_success_event({"standard_logging_object": payload()}, None, None, None)
        self.assertEqual(lg.stats()["dropped_closed"], 1)

    def test_fatal_error_replaces_the_producer(self) -> None:
        lg, made = self.make()
        lg.log_success_event({"standard_logging_object": payload("a")}, None, None, None)
        with self.assertLogs(gkl.LOG, level=logging.WARNING):
            lg._on_error(FakeError("_FATAL", fatal=True))
            lg.log_success_event({"standard_logging_object": payload("b")}, None, None, None)
        self.assertEqual(len(made), 2)
        self.assertEqual(made[1].queue[0][0]["key"], b"b")

    def test_sigterm_flushes_then_runs_the_previous_handler_and_flushes_each_later_event(self) -> None:
        seen: list[int] = []
        original = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))  # like uvicorn's
        self.addCleanup(signal.signal, signal.SIGTERM, original)
        made: list[FakeProducer] = []

        def factory(conf: dict) -> FakeProducer:
            made.append(FakeProducer(conf))
            return made[-1]

        lg = gkl.GatewardenKafkaLogger(config=gkl.KafkaLoggerConfig.from_env(ENV), producer_factory=factory)
        self.addCleanup(lg.close, 0)
        lg.log_success_event({"standard_logging_object": payload("before")}, None, None, None)
        self.assertEqual(made[0].flushed, [])
        signal.raise_signal(signal.SIGTERM)
        self.assertEqual(seen, [signal.SIGTERM], "the previous handler still runs")
        self.assertEqual(len(made[0].flushed), 1, "queued events flushed at SIGTERM")
        self.assertEqual([m["key"] for m in made[0].sent], [b"before"])
        lg.log_success_event({"standard_logging_object": payload("during-drain")}, None, None, None)
        self.assertEqual(len(made[0].flushed), 2, "an event produced while draining is flushed at once")
        self.assertEqual(lg.stats()["delivered"], 2)

    def test_loads_the_way_the_proxy_loads_it(self) -> None:
        # litellm.proxy.types_utils.utils.get_instance_fn: a file next to config.yaml is executed with
        # spec_from_file_location and never registered in sys.modules
        import importlib.util

        # (under another name here, since this test imported it normally too)
        spec = importlib.util.spec_from_file_location("gkl_not_in_sys_modules", gkl.__file__)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        old = os.environ.get("GATEWARDEN_KAFKA_BROKERS")
        os.environ["GATEWARDEN_KAFKA_BROKERS"] = "127.0.0.1:1"
        self.addCleanup(signal.signal, signal.SIGTERM, signal.getsignal(signal.SIGTERM))
        try:
            instance = getattr(module, "proxy_handler_instance")
            self.assertIsInstance(instance, gkl.CustomLogger)
            instance.close(0)
        finally:
            if old is None:
                del os.environ["GATEWARDEN_KAFKA_BROKERS"]
            else:
                os.environ["GATEWARDEN_KAFKA_BROKERS"] = old

    def test_module_instance_reads_the_environment_on_first_access(self) -> None:
        old = os.environ.pop("GATEWARDEN_KAFKA_BROKERS", None)
        try:
            gkl._instance = None
            self.addCleanup(signal.signal, signal.SIGTERM, signal.getsignal(signal.SIGTERM))
            with self.assertRaises(gkl.KafkaLoggerConfigError):
                gkl.proxy_handler_instance  # noqa: B018
        finally:
            if old is not None:
                os.environ["GATEWARDEN_KAFKA_BROKERS"] = old


if __name__ == "__main__":
    unittest.main()
