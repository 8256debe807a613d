"""Gatewarden Kafka logger for the LiteLLM proxy.

Produces every call's StandardLoggingPayload (``kwargs["standard_logging_object"]``) as one JSON
message to a Kafka topic that Gatewarden consumes (``kafka.topics``). The message key is the
call's ``litellm_call_id``, which is also Gatewarden's dedupe key, so a redelivered call lands on the
same partition and is counted once.

Load it from the proxy config (this file next to config.yaml, or on PYTHONPATH)::

    litellm_settings:
      callbacks: ["gatewarden_kafka_logger.proxy_handler_instance"]

and set GATEWARDEN_KAFKA_BROKERS (see README.md for every variable).

Rules this module MUST keep:
- the LLM call is never blocked or failed by Kafka: ``produce()`` only enqueues into librdkafka's
  bounded queue; a full queue, an oversized payload or a delivery failure is counted and logged
  (throttled) as a drop, never raised; only after SIGTERM does it wait (bounded) for delivery;
- the payload is never logged (only call ids, sizes, counts and Kafka error codes);
- bad configuration fails at proxy start (the config load raises), not on the first call.
"""

# No `from __future__ import annotations`: LiteLLM loads this file with spec_from_file_location and does
# not put it in sys.modules, and @dataclass resolves string annotations through sys.modules[__module__].
import atexit
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

try:  # the serializer LiteLLM's own generic_api logger uses (cycles, depth limit, default=str)
    from litellm.litellm_core_utils.safe_json_dumps import safe_dumps as _dumps
except ImportError:  # pragma: no cover - older/newer LiteLLM layouts

    def _dumps(data: object) -> str:
        return json.dumps(data, default=str)


# A child of LiteLLM's "LiteLLM" logger, so lines go through the proxy's handler (and LITELLM_LOG).
LOG = logging.getLogger("LiteLLM.gatewarden_kafka")

ENV_PREFIX = "GATEWARDEN_KAFKA_"
_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
# Gatewarden's consumer (kafkajs) decodes only gzip without extra codec packages.
_COMPRESSIONS = ("none", "gzip")
_BROKER = re.compile(r"^[^\s:,]+:\d{1,5}$")


class KafkaLoggerConfigError(ValueError):
    """A GATEWARDEN_KAFKA_* variable is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True)
class KafkaLoggerConfig:
    """Producer settings, read once from the environment (``from_env``)."""

    brokers: tuple[str, ...]
    topic: str = "litellm-spend"
    client_id: str = "litellm-gatewarden"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None
    compression: str = "none"
    linger_ms: int = 50
    queue_max_messages: int = 100_000
    queue_max_kbytes: int = 65_536
    message_timeout_ms: int = 120_000
    max_message_bytes: int = 1_000_000
    flush_timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "KafkaLoggerConfig":
        """Parses GATEWARDEN_KAFKA_*; raises KafkaLoggerConfigError listing every problem."""
        problems: list[str] = []

        def get(name: str) -> str | None:
            v = env.get(ENV_PREFIX + name)
            return v.strip() if v is not None and v.strip() != "" else None

        def number(name: str, default: float, cast: Callable[[str], float], lo: float, hi: float) -> Any:
            raw = get(name)
            if raw is None:
                return default
            try:
                v = cast(raw)
            except ValueError:
                problems.append(f"{ENV_PREFIX}{name}={raw!r} is not a number")
                return default
            if not lo <= v <= hi:
                problems.append(f"{ENV_PREFIX}{name}={raw} must be between {lo} and {hi}")
            return v

        brokers = tuple(b.strip() for b in (get("BROKERS") or "").split(",") if b.strip())
        if not brokers:
            problems.append(f"{ENV_PREFIX}BROKERS is not set: give host:port[,host:port] of the Kafka brokers")
        for b in brokers:
            if not _BROKER.match(b):
                problems.append(f"{ENV_PREFIX}BROKERS entry {b!r} is not host:port")
        topic = get("TOPIC") or cls.topic
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", topic):
            problems.append(f"{ENV_PREFIX}TOPIC={topic!r} is not a valid Kafka topic name")

        mechanism = get("SASL_MECHANISM")
        if mechanism is not None:
            mechanism = mechanism.upper()
            if mechanism not in _SASL_MECHANISMS:
                problems.append(f"{ENV_PREFIX}SASL_MECHANISM={mechanism} must be one of {', '.join(_SASL_MECHANISMS)}")
            for part in ("SASL_USERNAME", "SASL_PASSWORD"):
                if get(part) is None:
                    problems.append(f"{ENV_PREFIX}{part} is required with {ENV_PREFIX}SASL_MECHANISM")
        protocol = (get("SECURITY_PROTOCOL") or ("SASL_SSL" if mechanism else "PLAINTEXT")).upper()
        if protocol not in _SECURITY_PROTOCOLS:
            problems.append(f"{ENV_PREFIX}SECURITY_PROTOCOL={protocol} must be one of {', '.join(_SECURITY_PROTOCOLS)}")
        if protocol.startswith("SASL") and mechanism is None:
            problems.append(f"{ENV_PREFIX}SECURITY_PROTOCOL={protocol} needs {ENV_PREFIX}SASL_MECHANISM")

        compression = (get("COMPRESSION") or "none").lower()
        if compression not in _COMPRESSIONS:
            problems.append(
                f"{ENV_PREFIX}COMPRESSION={compression} must be none or gzip "
                "(Gatewarden's consumer reads no other codec)"
            )

        cfg = cls(
            brokers=brokers,
            topic=topic,
            client_id=get("CLIENT_ID") or cls.client_id,
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_username=get("SASL_USERNAME"),
            sasl_password=env.get(ENV_PREFIX + "SASL_PASSWORD") or None,  # not stripped: a password may end in a space
            ssl_ca_location=get("SSL_CA_LOCATION"),
            compression=compression,
            linger_ms=number("LINGER_MS", cls.linger_ms, int, 0, 900_000),
            queue_max_messages=number("QUEUE_MAX_MESSAGES", cls.queue_max_messages, int, 1, 10_000_000),
            queue_max_kbytes=number("QUEUE_MAX_KBYTES", cls.queue_max_kbytes, int, 1, 2_097_151),
            message_timeout_ms=number("MESSAGE_TIMEOUT_MS", cls.message_timeout_ms, int, 1_000, 3_600_000),
            max_message_bytes=number("MAX_MESSAGE_BYTES", cls.max_message_bytes, int, 1_000, 100_000_000),
            flush_timeout_s=number("FLUSH_TIMEOUT_S", cls.flush_timeout_s, float, 0, 300),
        )
        if problems:
            raise KafkaLoggerConfigError("gatewarden_kafka_logger: invalid configuration:\n  " + "\n  ".join(problems))
        return cfg

    def producer_config(self) -> dict[str, Any]:
        """librdkafka properties: idempotent (acks=all, ordered, no producer-retry duplicates), bounded queue."""
        conf: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.brokers),
            "client.id": self.client_id,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": self.linger_ms,
            "queue.buffering.max.messages": self.queue_max_messages,
            "queue.buffering.max.kbytes": self.queue_max_kbytes,
            "message.timeout.ms": self.message_timeout_ms,
            "message.max.bytes": max(self.max_message_bytes + 64 * 1024, 1_000_000),  # room for key + headers
            "compression.type": self.compression,
            # the Java/kafkajs default partitioner: a call id maps to the same partition from any client
            "partitioner": "murmur2_random",
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = self.sasl_password
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        return conf


ProducerFactory = Callable[[dict[str, Any]], Any]


def _confluent_producer(conf: dict[str, Any]) -> Any:
    from confluent_kafka import Producer  # imported here so the config can be checked without it

    return Producer(conf)


class _Throttle:
    """Lets one warning per `key` through every `every_s` seconds, and says how many were held back."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.RLock()

    def allow(self, key: str) -> int | None:
        """Returns the number of suppressed lines since the last one, or None to suppress this one."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -1e18) < self.every_s:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._held.pop(key, 0)


class GatewardenKafkaLogger(CustomLogger):
    """LiteLLM CustomLogger: one StandardLoggingPayload JSON per Kafka message, keyed by litellm_call_id."""

    def __init__(
        self,
        config: KafkaLoggerConfig | None = None,
        producer_factory: ProducerFactory | None = None,
        install_sigterm_hook: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config or KafkaLoggerConfig.from_env(os.environ)
        self._factory = producer_factory or _confluent_producer
        self._lock = threading.RLock()
        self._producer: Any = None
        self._pid: int | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._stale: list[Any] = []  # producers inherited over fork: never used nor destroyed in the child
        self._closed = False
        self._fatal = False
        self._shutting_down = False  # SIGTERM seen: flush each event as it is produced
        self._flush_gave_up = False  # a shutdown flush timed out (broker away): stop blocking
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.RLock()
        self._throttle = _Throttle()
        atexit.register(self.close)
        if install_sigterm_hook:
            self._install_sigterm_hook()
        LOG.info(
            "gatewarden kafka logger: topic=%s brokers=%s acks=all idempotent linger_ms=%d queue_max=%d",
            self.config.topic,
            ",".join(self.config.brokers),
            self.config.linger_ms,
            self.config.queue_max_messages,
        )

    # --- LiteLLM hooks: the proxy calls the async ones; sync SDK calls (litellm.completion) the others

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # noqa: ANN001
        self._send(kwargs, "success")

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):  # noqa: ANN001
        self._send(kwargs, "failure")

    def log_success_event(self, kwargs, response_obj, start_time, end_time):  # noqa: ANN001
        self._send(kwargs, "success")

    def log_failure_event(self, kwargs, response_obj, start_time, end_time):  # noqa: ANN001
        self._send(kwargs, "failure")

    # --- counters

    def stats(self) -> dict[str, int]:
        """Counters: enqueued, delivered, dropped_<reason>, skipped_no_payload."""
        with self._counts_lock:
            return dict(self._counts)

    @property
    def dropped(self) -> int:
        """Events that will never reach Kafka (every dropped_* counter)."""
        return sum(v for k, v in self.stats().items() if k.startswith("dropped_"))

    def _count(self, name: str, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def _drop(self, reason: str, call_id: str | None, detail: str = "") -> None:
        self._count("dropped_" + reason)
        held = self._throttle.allow("drop:" + reason)
        if held is not None:
            LOG.warning(
                "gatewarden kafka logger: dropped an event (reason=%s call_id=%s%s); %d similar drops not logged; "
                "dropped so far: %d",
                reason,
                call_id,
                f" {detail}" if detail else "",
                held,
                self.dropped,
            )

    # --- producing

    def _send(self, kwargs: Mapping[str, Any], event: str) -> None:
        """Enqueues the call's payload. MUST NOT raise; MUST NOT block except after SIGTERM (bounded flush)."""
        call_id: str | None = None
        try:
            payload = kwargs.get("standard_logging_object")
            if not isinstance(payload, Mapping):
                self._count("skipped_no_payload")
                return
            raw_id = payload.get("litellm_call_id") or kwargs.get("litellm_call_id") or payload.get("id")
            call_id = str(raw_id) if raw_id else None
            if self._closed:
                self._drop("closed", call_id)
                return
            try:
                value = _dumps(payload).encode("utf-8")
            except Exception as e:  # noqa: BLE001
                self._drop("serialize", call_id, type(e).__name__)
                return
            if len(value) > self.config.max_message_bytes:
                self._drop("too_large", call_id, f"bytes={len(value)} max={self.config.max_message_bytes}")
                return
            producer = self._current_producer()
            try:
                producer.produce(
                    self.config.topic,
                    value=value,
                    key=call_id.encode("utf-8") if call_id else None,
                    headers=[
                        ("content-type", b"application/json"),
                        ("x-gatewarden-source", b"litellm"),
                        ("x-litellm-event", event.encode("ascii")),
                    ],
                    on_delivery=self._on_delivery,
                )
            except BufferError:
                self._drop("queue_full", call_id, f"queue_max_messages={self.config.queue_max_messages}")
                return
            except Exception as e:  # noqa: BLE001  (KafkaException: e.g. fatal producer state)
                self._drop("produce_error", call_id, _kafka_error_text(e))
                return
            self._count("enqueued")
            if self._shutting_down and not self._flush_gave_up:
                self._shutdown_flush("event during shutdown")
        except Exception as e:  # noqa: BLE001  (a bug here must not fail the LLM call)
            self._drop("internal_error", call_id, type(e).__name__)

    def _current_producer(self) -> Any:
        pid = os.getpid()
        producer = self._producer
        if producer is not None and self._pid == pid and not self._fatal:
            return producer
        with self._lock:
            if self._producer is not None and self._pid != pid:
                # forked (e.g. a worker process): librdkafka's threads did not come along; start afresh
                self._stale.append(self._producer)
                self._producer = None
            if self._producer is not None and self._fatal:
                # an idempotent producer in a fatal state fails every produce; replace it
                LOG.warning("gatewarden kafka logger: replacing the producer after a fatal error")
                self._stop.set()
                self._stale.append(self._producer)
                self._producer = None
                self._fatal = False
            if self._producer is None:
                conf = self.config.producer_config()
                conf["error_cb"] = self._on_error
                conf["logger"] = LOG.getChild("librdkafka")  # librdkafka logs, served by poll()
                self._producer = self._factory(conf)
                self._pid = pid
                self._stop = threading.Event()
                self._poller = threading.Thread(
                    target=self._poll_loop,
                    args=(self._producer, self._stop),
                    name="gatewarden-kafka-poll",
                    daemon=True,
                )
                self._poller.start()
            return self._producer

    def _poll_loop(self, producer: Any, stop: threading.Event) -> None:
        """Serves delivery reports, errors and librdkafka logs off the request path."""
        while not stop.is_set():
            try:
                producer.poll(0.2)
            except Exception as e:  # noqa: BLE001
                LOG.warning("gatewarden kafka logger: poll failed: %s", type(e).__name__)
                stop.wait(0.2)

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is None:
            self._count("delivered")
            return
        key = msg.key() if msg is not None else None
        self._drop(
            "delivery_failed",
            key.decode("utf-8", "replace") if isinstance(key, bytes) else None,
            _kafka_error_text(err),
        )

    def _on_error(self, err: Any) -> None:
        fatal = bool(getattr(err, "fatal", lambda: False)())
        if fatal:
            self._fatal = True
        held = self._throttle.allow("error:" + str(getattr(err, "code", lambda: "?")()))
        if fatal or held is not None:
            LOG.warning(
                "gatewarden kafka logger: kafka client error (%s)%s; %d similar not logged",
                _kafka_error_text(err),
                " FATAL, producer will be replaced" if fatal else "",
                held or 0,
            )

    # --- shutdown

    def _install_sigterm_hook(self) -> None:
        """Chains SIGTERM so queued events are flushed before the process dies.

        uvicorn (the proxy's server) ends a SIGTERM shutdown by re-raising SIGTERM with the default
        action, so atexit never runs there. On SIGTERM this flushes what is queued (bounded), then runs
        the previous handler (uvicorn's graceful shutdown); while the proxy drains, every new event is
        flushed as it is produced, so calls that finish during the drain are delivered too.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            previous = signal.getsignal(signal.SIGTERM)
        except (ValueError, OSError):  # pragma: no cover - platforms without SIGTERM
            return
        if previous is signal.SIG_IGN or previous is None:
            return

        def on_sigterm(signum: int, frame: Any) -> None:
            self._shutting_down = True
            self._shutdown_flush("SIGTERM")
            if callable(previous):
                previous(signum, frame)
            else:  # SIG_DFL: die as before, after the flush
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)

    def _shutdown_flush(self, why: str) -> None:
        """Blocks (bounded) until queued events are delivered; after one timeout it stops blocking."""
        try:
            left = self.flush()
        except Exception as e:  # noqa: BLE001
            left, why = -1, f"{why}: {type(e).__name__}"
        if left:
            self._flush_gave_up = True
            LOG.warning(
                "gatewarden kafka logger: shutdown flush (%s) left %d events queued after %.1fs; "
                "they are lost if the process exits now",
                why,
                left,
                self.config.flush_timeout_s,
            )

    def flush(self, timeout_s: float | None = None) -> int:
        """Waits (bounded) until queued events are delivered or failed; returns how many are still queued."""
        producer = self._producer
        if producer is None or self._pid != os.getpid():
            return 0
        return int(producer.flush(self.config.flush_timeout_s if timeout_s is None else timeout_s))

    def close(self, timeout_s: float | None = None) -> None:
        """Flushes (bounded by GATEWARDEN_KAFKA_FLUSH_TIMEOUT_S) and stops; registered with atexit."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            producer, poller, stop = self._producer, self._poller, self._stop
            owned = producer is not None and self._pid == os.getpid()
        if not owned:
            return
        stop.set()
        if poller is not None:
            poller.join(timeout=2)
        left = int(producer.flush(self.config.flush_timeout_s if timeout_s is None else timeout_s))
        if left:
            self._count("dropped_shutdown_timeout", left)
            LOG.warning("gatewarden kafka logger: %d events not delivered at shutdown (flush timed out)", left)
        LOG.info("gatewarden kafka logger: closed; %s", self.stats())


def _kafka_error_text(err: Any) -> str:
    """`name: reason` of a KafkaError/KafkaException, without message contents."""
    e = err.args[0] if isinstance(err, Exception) and err.args else err
    name = getattr(e, "name", None)
    text = getattr(e, "str", None)
    if callable(name) and callable(text):
        return f"{name()}: {text()}"
    return type(err).__name__


_instance: GatewardenKafkaLogger | None = None
_instance_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    """`proxy_handler_instance`, created on first access (PEP 562).

    LiteLLM resolves ``gatewarden_kafka_logger.proxy_handler_instance`` with getattr when it loads the
    config, so the environment is read (and checked) at proxy start, while importing this module
    (tests, other tools) needs no environment.
    """
    global _instance
    if name == "proxy_handler_instance":
        with _instance_lock:
            if _instance is None:
                _instance = GatewardenKafkaLogger()
            return _instance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
