import type { z } from 'zod'
import { attributionLists } from './attribution-lists.js'

/**
 * Default attribution paths for OTLP spans (core/ingest/otlp/README.md "Attribution"). First non-empty wins.
 * A path names a span attribute (`user.id`); when no attribute has that exact key, the longest
 * attribute key that prefixes it is read and the rest walks into its value, so
 * `metadata.spend_logs_metadata.customer` reads LiteLLM's `metadata.spend_logs_metadata` attribute
 * (a Python repr of a dict) and takes its `customer`. `tag:NAME` reads request tags (`NAME:value`),
 * `span:name` the span name. Each path is tried on the span, then its ancestors in the same export
 * request (nearest first), then the resource attributes, before the next path is tried.
 * The LiteLLM paths come after the OpenTelemetry ones, in the same order as for LiteLLM payloads,
 * so LiteLLM's `otel` callback and its `generic_api` callback attribute a call alike.
 */
export const DEFAULT_OTEL_ATTRIBUTION = {
  customer: [
    'user.id',
    'enduser.id',
    'llm.user',
    'metadata.user_api_key_end_user_id',
    'metadata.spend_logs_metadata.customer',
    'tag:customer',
  ],
  agent: [
    'gen_ai.agent.name',
    'gen_ai.agent.id',
    'metadata.spend_logs_metadata.agent',
    'metadata.requester_custom_headers.x-agent-name',
    'tag:agent',
  ],
  endpoint: [
    'metadata.spend_logs_metadata.endpoint',
    'metadata.requester_custom_headers.x-endpoint',
    'tag:endpoint',
    'metadata.user_api_key_request_route',
    'http.route',
    'span:name',
  ],
  session: [
    'gen_ai.conversation.id',
    'session.id',
    'metadata.spend_logs_metadata.session',
    'metadata.spend_logs_metadata.session_id',
    'tag:session',
    'metadata.session_id',
  ],
  tier: [
    'customer.tier',
    'metadata.spend_logs_metadata.tier',
    'metadata.spend_logs_metadata.customer_tier',
    'metadata.requester_custom_headers.x-customer-tier',
    'tag:tier',
  ],
} as const

/** Which span attributes feed customer, agent, endpoint and session (`attribution.otel` in the config). */
export const OtelAttributionConfig = attributionLists(DEFAULT_OTEL_ATTRIBUTION)
export type OtelAttributionConfig = z.infer<typeof OtelAttributionConfig>
