/**
 * The metric names the dashboards read, spelled exactly as in the catalogue
 * (docs/metrics.md, BRIEF.md). A test checks every query uses only these.
 */
export const METRICS = {
  requestDuration: 'http_server_request_duration_seconds',
  activeRequests: 'http_server_active_requests',
  requestBodySize: 'http_server_request_body_size_bytes',
  responseBodySize: 'http_server_response_body_size_bytes',
  queueDuration: 'wsgi_request_queue_duration_seconds',
  phaseDuration: 'wsgi_request_phase_duration_seconds',
  requestCpu: 'wsgi_request_cpu_seconds',
  workerThreads: 'wsgi_worker_threads',
  workerBusyThreads: 'wsgi_worker_busy_threads',
  workerBusyThreadSeconds: 'wsgi_worker_busy_thread_seconds_total',
  workerUtilization: 'wsgi_worker_utilization_ratio',
  workerOldestRequestAge: 'wsgi_worker_oldest_request_age_seconds',
  workerCpuSeconds: 'wsgi_worker_cpu_seconds_total',
  workerResidentMemory: 'wsgi_worker_resident_memory_bytes',
  workerSamplerLag: 'wsgi_worker_sampler_lag_seconds',
  workerInfo: 'wsgi_worker_info',
  shimDroppedRecords: 'wsgi_shim_dropped_records_total',
  listenQueue: 'wsgi_listen_queue_connections',
  listenQueueLimit: 'wsgi_listen_queue_limit_connections',
} as const;

/** Histograms expose `_bucket`, `_sum` and `_count` series under their base name. */
export const HISTOGRAMS: readonly string[] = [
  METRICS.requestDuration,
  METRICS.requestBodySize,
  METRICS.responseBodySize,
  METRICS.queueDuration,
  METRICS.phaseDuration,
  METRICS.requestCpu,
  METRICS.workerSamplerLag,
];
