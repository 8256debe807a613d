#!/usr/bin/env node
// Regenerates schemas/otlp-proto/trace-service.json, the protobufjs descriptor Gatewarden decodes
// OTLP/HTTP protobuf bodies with, from the vendored opentelemetry-proto files next to it.
// Usage: node scripts/otlp/gen-descriptor.mjs   (then commit both the .proto files and the .json)
// A unit test (adapters/otlp/trace-proto.test.ts) fails when the two drift apart.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const dir = fileURLToPath(new URL('../../schemas/otlp-proto/', import.meta.url))
const root = new protobuf.Root()
root.resolvePath = (_origin, target) => dir + target
root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false })
root.resolveAll()
writeFileSync(
  dir + 'trace-service.json',
  JSON.stringify(root.toJSON({ keepComments: false }), null, 2) + '\n',
)
console.log(`wrote ${dir}trace-service.json`)
