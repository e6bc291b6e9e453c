/**
 * Reading OTLP attributes: the resource's identity (service.name, service.instance.id, the
 * `server` label) and a request's semconv labels, old and new names.
 */
import type { AnyValue, KeyValue } from './model';
import { int64Text } from './model';

/** `server` label of OTLP-fed series whose resource does not name its web server. */
export const OTLP_SERVER = 'otlp';
/** The semconv default when a resource has no service.name. */
export const UNKNOWN_SERVICE = 'unknown_service';
/** Longest label value kept from OTLP text (longer is cut): bounds memory per series. */
export const MAX_LABEL_LENGTH = 256;

function clip(value: string): string {
  return value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
}

/**
 * The member of AnyValue's `value` oneof that is set. A protobufjs message answers every
 * member with its type's default (an unset int_value reads as 0), so only the message's own
 * properties say which one was sent.
 */
function member<K extends keyof AnyValue>(value: AnyValue | null | undefined, key: K): AnyValue[K] | undefined {
  if (value === null || value === undefined || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
  return value[key];
}

function text(value: AnyValue | null | undefined): string | undefined {
  const asString = member(value, 'stringValue');
  if (typeof asString === 'string') return asString;
  return int64Text(member(value, 'intValue'));
}

function integer(value: AnyValue | null | undefined): number | undefined {
  let n: number;
  const asInt = int64Text(member(value, 'intValue'));
  const asString = member(value, 'stringValue');
  const asDouble = member(value, 'doubleValue');
  if (asInt !== undefined) n = Number(asInt);
  else if (typeof asString === 'string' && /^\s*\d{1,3}\s*$/.test(asString)) n = Number(asString);
  else if (typeof asDouble === 'number') n = asDouble;
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
 * semconv resource attribute `webengine.name` (else `otlp`). A repeated key: the last wins.
 */
export function resourceIdentity(attributes: readonly KeyValue[] | null | undefined): ResourceIdentity {
  let service: string | undefined;
  let instance: string | undefined;
  let server: string | undefined;
  for (const kv of attributes ?? []) {
    if (kv.key === 'service.name') service = text(kv.value) ?? service;
    else if (kv.key === 'service.instance.id') instance = text(kv.value) ?? instance;
    else if (kv.key === 'webengine.name') server = text(kv.value) ?? server;
  }
  const s = clip(service ?? '') || UNKNOWN_SERVICE;
  const i = clip(instance ?? '');
  return { service: s, instance: i, server: clip(server ?? '') || OTLP_SERVER, key: `${String(s.length)}:${s}${i}` };
}

export interface RequestAttributes {
  /** Raw method (normalised later, as the shim's); undefined when the point/span has none. */
  method: string | undefined;
  /** 0 when absent or not a status code. */
  status: number;
  route: string | null;
}

/**
 * http.request.method / http.method, http.response.status_code / http.status_code, http.route;
 * the stable name wins over the old one, and for a repeated key the last one.
 */
export function requestAttributes(attributes: readonly KeyValue[] | null | undefined): RequestAttributes {
  let method: string | undefined;
  let oldMethod: string | undefined;
  let status: AnyValue | null | undefined;
  let oldStatus: AnyValue | null | undefined;
  let route: string | undefined;
  for (const kv of attributes ?? []) {
    switch (kv.key) {
      case 'http.request.method':
        method = text(kv.value) ?? method;
        break;
      case 'http.method':
        oldMethod = text(kv.value) ?? oldMethod;
        break;
      case 'http.response.status_code':
        status = kv.value ?? status;
        break;
      case 'http.status_code':
        oldStatus = kv.value ?? oldStatus;
        break;
      case 'http.route':
        route = text(kv.value) ?? route;
        break;
      default:
        break;
    }
  }
  const chosen = method ?? oldMethod;
  const rawStatus = integer(status ?? oldStatus);
  return {
    method: chosen === undefined ? undefined : clip(chosen),
    status: rawStatus !== undefined && rawStatus >= 100 && rawStatus <= 999 ? rawStatus : 0,
    route: route === undefined ? null : clip(route),
  };
}

/** A canonical text of an attribute set (order-free, last value of a repeated key), to tell streams apart. */
export function attributesKey(attributes: readonly KeyValue[] | null | undefined): string {
  const byKey = new Map<string, unknown>();
  for (const kv of attributes ?? []) if (typeof kv.key === 'string') byKey.set(kv.key, kv.value);
  const parts: string[] = [];
  for (const [key, value] of byKey) parts.push(JSON.stringify([key, value]));
  return parts.sort().join(',');
}
