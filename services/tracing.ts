/**
 * Gatewarden's own traces, through the OpenTelemetry Node SDK. Off unless the standard OTEL_* variables
 * name an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the SDK reads
 * protocol, headers and sampling from the environment itself. Returns the shutdown (flushes spans).
 */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return async () => {}
  // loaded only when enabled: the SDK and its exporters cost start-up time
  const { NodeSDK } = await import('@opentelemetry/sdk-node')
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? 'gatewarden' })
  sdk.start()
  return () => sdk.shutdown()
}
