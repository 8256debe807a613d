#!/usr/bin/env node
// Regenerates schemas/model-prices.json (the price table OTLP events fall back on when a span carries
// no cost) from LiteLLM's model_prices_and_context_window.json.
//
//   node scripts/pricing/gen-model-prices.mjs [path/to/model_prices_and_context_window.json] [source label]
//
// Default input: the copy bundled in the LiteLLM venv that scripts/litellm/setup.sh installs
// (litellm/model_prices_and_context_window_backup.json), so the table matches the prices the test
// proxy itself uses with LITELLM_LOCAL_MODEL_COST_MAP=True. Keeps chat / completion / embedding
// models of the common providers, converts per-token USD to USD per million tokens.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const PROVIDERS = new Set([
  'openai',
  'anthropic',
  'gemini',
  'vertex_ai-language-models',
  'deepseek',
  'mistral',
  'xai',
])
const MODES = new Set(['chat', 'completion', 'responses', 'embedding'])
const PREFIXES = new Set(['openai', 'anthropic', 'gemini', 'deepseek', 'mistral', 'xai'])

function defaultInput() {
  const lib = join(repo, '.cache/litellm-venv/lib')
  if (!existsSync(lib)) return undefined
  for (const py of readdirSync(lib)) {
    const p = join(lib, py, 'site-packages/litellm/model_prices_and_context_window_backup.json')
    if (existsSync(p)) return p
  }
  return undefined
}

function litellmVersion() {
  const lib = join(repo, '.cache/litellm-venv/lib')
  for (const py of existsSync(lib) ? readdirSync(lib) : []) {
    const sp = join(lib, py, 'site-packages')
    const dist = readdirSync(sp).find((d) => /^litellm-[\d.]+\.dist-info$/.test(d))
    if (dist) return dist.slice('litellm-'.length, -'.dist-info'.length)
  }
  return 'unknown'
}

const input = process.argv[2] ?? defaultInput()
if (!input) {
  console.error(
    'no input: pass the path of model_prices_and_context_window.json (or run scripts/litellm/setup.sh)',
  )
  process.exit(1)
}
const label =
  process.argv[3] ??
  `BerriAI/litellm model_prices_and_context_window.json, as bundled in litellm==${litellmVersion()} (litellm/model_prices_and_context_window_backup.json)`

const perMtok = (v) =>
  typeof v === 'number' && Number.isFinite(v) ? Number((v * 1e6).toPrecision(12)) : undefined
const src = JSON.parse(readFileSync(input, 'utf8'))
const models = {}
for (const [key, v] of Object.entries(src)) {
  if (!PROVIDERS.has(v.litellm_provider) || !MODES.has(v.mode)) continue
  if (typeof v.input_cost_per_token !== 'number') continue
  let name = key.toLowerCase()
  const slash = name.indexOf('/')
  if (slash >= 0) {
    const rest = name.slice(slash + 1)
    if (!PREFIXES.has(name.slice(0, slash)) || rest.includes('/')) continue
    if (models[rest]) continue // the unprefixed entry wins
    name = rest
  }
  if (name.startsWith('ft:')) continue
  const price = {
    provider: v.litellm_provider,
    input_per_mtok: perMtok(v.input_cost_per_token),
    output_per_mtok: perMtok(v.output_cost_per_token) ?? 0,
  }
  const cached = perMtok(v.cache_read_input_token_cost)
  if (cached !== undefined) price.cached_input_per_mtok = cached
  models[name] = price
}
const sorted = Object.fromEntries(Object.entries(models).sort(([a], [b]) => a.localeCompare(b)))
const out = {
  source: label,
  generated: new Date().toISOString().slice(0, 10),
  unit: 'USD per 1,000,000 tokens',
  models: sorted,
}
const target = join(repo, 'schemas/model-prices.json')
writeFileSync(target, JSON.stringify(out, null, 2) + '\n')
console.log(`wrote ${Object.keys(sorted).length} models to ${target}`)
