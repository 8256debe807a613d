import type { AttrValue } from './values.js'
import { scalarText, unpack, type SpanAttributes } from './span-attributes.js'

/**
 * Prompt and completion text of an LLM span, in the OpenAI message shape `core/ingest/fingerprint.ts` reads,
 * from whichever convention the span uses: GenAI `gen_ai.input.messages` / `gen_ai.output.messages`
 * (JSON with `parts`), the older indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` (OpenLLMetry),
 * or OpenInference `llm.input_messages.N.message.*` / `llm.output_messages.N.message.*`.
 */

/** A chat message as the fingerprint reads it. */
export interface ChatMessage {
  role: string
  content: string
}

const MAX_INDEXED = 1000

const isRecord = (v: unknown): v is Record<string, AttrValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Text of GenAI `parts`: text parts joined by newlines, other parts as `<type>`. */
function partsText(parts: AttrValue): string {
  if (!Array.isArray(parts)) return scalarText(parts)
  return parts
    .map((p) => {
      if (!isRecord(p)) return scalarText(p)
      if (p.type === 'text' || p.type === undefined) return typeof p.content === 'string' ? p.content : ''
      return `<${scalarText(p.type) || 'part'}>`
    })
    .join('\n')
}

function fromGenAi(v: AttrValue | undefined): ChatMessage[] | undefined {
  const list = unpack(v)
  if (typeof list === 'string' && list !== '') return [{ role: 'user', content: list }]
  if (!Array.isArray(list)) return undefined
  return list.map((m) => {
    if (!isRecord(m)) return { role: '', content: scalarText(m) }
    const content =
      m.parts !== undefined
        ? partsText(m.parts)
        : typeof m.content === 'string'
          ? m.content
          : partsText(m.content ?? null)
    return { role: scalarText(m.role), content }
  })
}

function fromIndexed(
  a: SpanAttributes,
  prefix: string,
  role: string,
  content: string,
): ChatMessage[] | undefined {
  const out: ChatMessage[] = []
  for (let i = 0; i < MAX_INDEXED; i++) {
    const r = a.get(`${prefix}.${i}.${role}`)
    const c = a.get(`${prefix}.${i}.${content}`)
    if (r === undefined && c === undefined) break
    out.push({ role: scalarText(r ?? null), content: typeof c === 'string' ? c : scalarText(c ?? null) })
  }
  return out.length > 0 ? out : undefined
}

/** The prompt as chat messages; undefined when the span carries none (e.g. prompt capture off). */
export function inputMessages(a: SpanAttributes): ChatMessage[] | undefined {
  return (
    fromGenAi(a.get('gen_ai.input.messages')) ??
    fromIndexed(a, 'gen_ai.prompt', 'role', 'content') ??
    fromIndexed(a, 'llm.input_messages', 'message.role', 'message.content')
  )
}

/** The completion text (all output messages joined by newlines); '' when absent. */
export function outputText(a: SpanAttributes): string {
  const msgs =
    fromGenAi(a.get('gen_ai.output.messages')) ??
    fromIndexed(a, 'gen_ai.completion', 'role', 'content') ??
    fromIndexed(a, 'llm.output_messages', 'message.role', 'message.content')
  return (msgs ?? []).map((m) => m.content).join('\n')
}

/** Tool definitions as `{ name }` (GenAI `gen_ai.tool.definitions`, LiteLLM/OpenLLMetry `llm.request.functions.N.name`). */
export function toolDefinitions(a: SpanAttributes): Array<{ name: string }> {
  const defs = unpack(a.get('gen_ai.tool.definitions'))
  if (Array.isArray(defs)) {
    return defs
      .map((d) =>
        isRecord(d)
          ? scalarText(d.name ?? null) || (isRecord(d.function) ? scalarText(d.function.name ?? null) : '')
          : '',
      )
      .filter((n) => n !== '')
      .map((name) => ({ name }))
  }
  const out: Array<{ name: string }> = []
  for (let i = 0; i < MAX_INDEXED; i++) {
    const name = a.text(`llm.request.functions.${i}.name`)
    if (name === '') break
    out.push({ name })
  }
  return out
}
