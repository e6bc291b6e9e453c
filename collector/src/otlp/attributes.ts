/**
 * Reading OTLP attributes: the resource's identity (service.name, service.instance.id, the
 * `server` label) and a request's semconv labels, old and new names.
 */
import type { AnyValue, KeyValue } from './model';

/** `server` label of OTLP-fed series whose resource does not name its web server. */
export const OTLP_SERVER = 'otlp';
/** The semconv default when a resource has no service.name. */
export const UNKNOWN_SERVICE = 'unknown_service';
/** Longest label value kept from OTLP text (longer is cut): bounds memory per series. */
export const MAX_LABEL_LENGTH = 256;

function clip(value: string): string {
  return value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
}

/** The attributes as a map of their values (last one wins for a repeated key). */
export function attributeMap(attributes: readonly KeyValue[] | undefined): Map<string, AnyValue> {
  const map = new Map<string, AnyValue>();
  for (const kv of attributes ?? []) {
    if (typeof kv.key === 'string' && kv.value !== undefined) map.set(kv.key, kv.value);
  }
  return map;
}

function text(value: AnyValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.intValue === 'string') return value.intValue;
  return undefined;
}

function integer(value: AnyValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  let n: number;
  if (typeof value.intValue === 'string') n = Number(value.intValue);
  else if (typeof value.stringValue === 'string' && /^\s*\d{1,3}\s*$/.test(value.stringValue)) n = Number(value.stringValue);
  else if (typeof value.doubleValue === 'number') n = value.doubleValue;
  else return undefined;
  return Number.isInteger(n) ? n : undefined;
}

export interface ResourceIdentity {
  service: string;
  instance: string;
  server: string;
  /** service + instance: the unit that is counted once (metrics win over spans). */
  key: string;
}

/**
 * service.name (else `unknown_service`), service.instance.id (else ""), and `server` from the
 * semconv resource attribute `webengine.name` (else `otlp`).
 */
export function resourceIdentity(attributes: readonly KeyValue[] | undefined): ResourceIdentity {
  const map = attributeMap(attributes);
  const service = clip(text(map.get('service.name')) ?? '') || UNKNOWN_SERVICE;
  const instance = clip(text(map.get('service.instance.id')) ?? '');
  const server = clip(text(map.get('webengine.name')) ?? '') || OTLP_SERVER;
  return { service, instance, server, key: `${String(service.length)}:${service}${instance}` };
}

export interface RequestAttributes {
  /** Raw method (normalised later, as the shim's); undefined when the point/span has none. */
  method: string | undefined;
  /** 0 when absent or not a status code. */
  status: number;
  route: string | null;
}

/** http.request.method / http.method, http.response.status_code / http.status_code, http.route. */
export function requestAttributes(attributes: readonly KeyValue[] | undefined): RequestAttributes {
  const map = attributeMap(attributes);
  const method = text(map.get('http.request.method') ?? map.get('http.method'));
  const rawStatus = integer(map.get('http.response.status_code') ?? map.get('http.status_code'));
  const status = rawStatus !== undefined && rawStatus >= 100 && rawStatus <= 999 ? rawStatus : 0;
  const route = text(map.get('http.route'));
  return { method: method === undefined ? undefined : clip(method), status, route: route === undefined ? null : clip(route) };
}

/** A canonical text of an attribute set (order-free), to tell streams apart. */
export function attributesKey(attributes: readonly KeyValue[] | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of attributeMap(attributes)) parts.push(JSON.stringify([key, value]));
  return parts.sort().join(',');
}
