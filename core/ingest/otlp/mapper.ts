import type { DeadLetterCode } from '../../../schemas/dead-letter.js'
import { OtlpSpan, OtlpTraceRequest } from '../../../schemas/otlp-trace.js'
import type { RequestEvent } from '../../../schemas/request-event.js'
import type { MapResult } from '../event-result.js'
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../json-depth.js'
import { carriesUsage, spanRole } from './llm-span.js'
import { spanToEvent, type OtlpMapperOptions, type SpanView } from './span-event.js'
import { attributeRecord, normalizeId } from './values.js'
import { SpanAttributes } from './span-attributes.js'

export type { OtlpMapperOptions } from './span-event.js'

/** What one span became: an event, ignored (not an LLM call, or counted through another span), or a dead letter. */
export type SpanOutcome =
  | { kind: 'event'; where: string; event: RequestEvent; truncated: number }
  | { kind: 'ignored'; where: string; reason: string }
  | { kind: 'dead'; where: string; reason: string; code: DeadLetterCode; raw: unknown }

/** Outcomes in request order, or why the whole request is unreadable (HTTP 400). */
export type OtlpMapResult = { ok: true; spans: SpanOutcome[] } | { ok: false; reason: string }

const MAX_ANCESTORS = 64

const snakeToCamel = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(snakeToCamel)
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()),
      snakeToCamel(x),
    ]),
  )
}

/**
 * Maps an `ExportTraceServiceRequest` (JSON shape; protobuf bodies decoded to it) to one outcome per span.
 *
 * Counting rule (one LLM call = one event): when LLM spans are nested in the same request (LiteLLM
 * versions that put the call's attributes on both the proxy span and its `litellm_request` child; a
 * framework span around an SDK span), the span that carries usage or cost counts; if both or neither
 * do, the innermost counts. The others are ignored, not dead-lettered. Spans that are not LLM calls
 * are ignored. An LLM span that cannot become a valid event (bad ids, missing start time, negative
 * cost, non-numeric token counts) is dead-lettered.
 */
export function mapOtlpTraces(body: unknown, opts: OtlpMapperOptions): OtlpMapResult {
  if (nestedDeeperThan(body))
    return {
      ok: false,
      reason: `not an ExportTraceServiceRequest: nested deeper than ${MAX_JSON_DEPTH} levels`,
    }
  const input =
    body !== null && typeof body === 'object' && 'resource_spans' in body ? snakeToCamel(body) : body
  const parsed = OtlpTraceRequest.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      ok: false,
      reason: `not an ExportTraceServiceRequest: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    }
  }
  const out: Array<SpanOutcome | SpanView> = []
  const byId = new Map<string, SpanView>()
  ;(parsed.data.resourceSpans ?? []).forEach((rs, r) => {
    const resource = new SpanAttributes(attributeRecord(rs.resource?.attributes))
    ;(rs.scopeSpans ?? []).forEach((ss, s) => {
      ;(ss.spans ?? []).forEach((raw, i) => {
        const where = `resource ${r} scope ${s} span ${i}`
        const span = OtlpSpan.safeParse(raw)
        if (!span.success) {
          const issue = span.error.issues[0]
          out.push({
            kind: 'dead',
            where,
            raw,
            reason: `invalid span at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
            code: 'GW_DL_INVALID',
          })
          return
        }
        const attrs = new SpanAttributes(attributeRecord(span.data.attributes))
        const role = spanRole(attrs)
        const view: SpanView = {
          where,
          raw,
          span: span.data,
          traceId: normalizeId(span.data.traceId, 16),
          spanId: normalizeId(span.data.spanId, 8),
          parentId: normalizeId(span.data.parentSpanId, 8),
          attrs,
          resource,
          scope: ss.scope?.name ?? '',
          llm: role.llm,
          why: role.llm ? '' : role.why,
          usage: role.llm && carriesUsage(attrs),
        }
        if (view.traceId && view.spanId) byId.set(`${view.traceId}/${view.spanId}`, view)
        out.push(view)
      })
    })
  })

  const ancestorsOf = (v: SpanView): SpanView[] => {
    const chain: SpanView[] = []
    let parent = v.parentId
    while (parent && chain.length < MAX_ANCESTORS) {
      const p = byId.get(`${v.traceId}/${parent}`)
      if (!p || p === v || chain.includes(p)) break
      chain.push(p)
      parent = p.parentId
    }
    return chain
  }
  const superseded = new Map<SpanView, SpanView>()
  for (const v of out) {
    if ('kind' in v || !v.llm) continue
    for (const a of ancestorsOf(v)) {
      if (!a.llm) continue
      if (v.usage || !a.usage) superseded.set(a, v)
      else superseded.set(v, a)
    }
  }

  const spans = out.map((v): SpanOutcome => {
    if ('kind' in v) return v
    if (!v.llm) return { kind: 'ignored', where: v.where, reason: `not an LLM call (${v.why})` }
    const by = superseded.get(v)
    if (by)
      return { kind: 'ignored', where: v.where, reason: `LLM call counted on span ${by.spanId ?? by.where}` }
    const mapped = spanToEvent(v, ancestorsOf(v), opts)
    return mapped.ok
      ? { kind: 'event', where: v.where, event: mapped.event, truncated: mapped.truncated }
      : { kind: 'dead', where: v.where, reason: mapped.reason, code: mapped.code, raw: v.raw }
  })
  return { ok: true, spans }
}
/** The same mapping as `MapResult`s (events and rejects; ignored spans yield nothing), for the Kafka source. */
export function mapOtlpToResults(body: unknown, opts: OtlpMapperOptions): MapResult[] {
  const r = mapOtlpTraces(body, opts)
  if (!r.ok) return [{ ok: false, reason: r.reason, code: 'GW_DL_INVALID' }]
  return r.spans.flatMap((s): MapResult[] =>
    s.kind === 'event'
      ? [{ ok: true, event: s.event, truncated: s.truncated }]
      : s.kind === 'dead'
        ? [{ ok: false, reason: `${s.where}: ${s.reason}`, code: s.code }]
        : [],
  )
}
