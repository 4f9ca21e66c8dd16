/**
 * OTLP/HTTP bodies: the request as JSON or protobuf (the official schema, opentelemetry-proto
 * v1.9.0, from otlp-descriptor.ts), and the collector's ExportLogsServiceResponse read back from
 * either. int64 fields travel as decimal strings on our side and as Long in protobufjs, never as a
 * double: a nanosecond time is past 2^53.
 */
import Long from 'long';
import protobuf from 'protobufjs';
import { OTLP_LOGS_DESCRIPTOR } from './otlp-descriptor.js';
import type { OtlpLogsRequest } from './otlp-map.js';

// protobufjs finds `long` by a require it makes itself, which a bundle may not see: without it
// int64 would silently become a double.
protobuf.util.Long = Long;
protobuf.configure();

const schema = protobuf.Root.fromJSON(OTLP_LOGS_DESCRIPTOR as protobuf.INamespace);
const PACKAGE = 'opentelemetry.proto.collector.logs.v1';
const RequestType = schema.lookupType(`${PACKAGE}.ExportLogsServiceRequest`);
const ResponseType = schema.lookupType(`${PACKAGE}.ExportLogsServiceResponse`);

export const OTLP_CONTENT_TYPE = { json: 'application/json', protobuf: 'application/x-protobuf' } as const;
export type OtlpEncoding = keyof typeof OTLP_CONTENT_TYPE;

/** The OTLP/JSON mapping of protobufjs objects: int64 as strings, enums as numbers, unset fields left out. */
export const OTLP_JSON_FORM: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, json: true };

export function encodeOtlpRequest(request: OtlpLogsRequest, encoding: OtlpEncoding): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify(request));
  const message = RequestType.fromObject(request);
  return Buffer.from(RequestType.encode(message).finish());
}

/** A protobuf request back in its OTLP/JSON form (what a receiver writes to a file). */
export function decodeOtlpProtobufRequest(bytes: Uint8Array): OtlpLogsRequest {
  return RequestType.toObject(RequestType.decode(bytes), OTLP_JSON_FORM) as OtlpLogsRequest;
}

export interface OtlpExportResult {
  /** partialSuccess.rejectedLogRecords (0 when absent). */
  rejected: bigint;
  errorMessage?: string;
}

function rejectedCount(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  if (Long.isLong(value)) return BigInt(value.toString());
  return undefined;
}

function fromParsed(parsed: unknown): OtlpExportResult | undefined {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const partial = (parsed as { partialSuccess?: unknown }).partialSuccess;
  if (partial === undefined || partial === null) return { rejected: 0n };
  if (typeof partial !== 'object' || Array.isArray(partial)) return undefined;
  const { rejectedLogRecords, errorMessage } = partial as { rejectedLogRecords?: unknown; errorMessage?: unknown };
  const rejected = rejectedCount(rejectedLogRecords);
  if (rejected === undefined) return undefined;
  return { rejected, ...(typeof errorMessage === 'string' && errorMessage !== '' ? { errorMessage } : {}) };
}

/**
 * The collector's answer to an export, by its content type (the request's encoding when it names
 * none); undefined when the body is not an ExportLogsServiceResponse. An empty body is an empty response.
 */
export function parseOtlpResponse(body: Buffer, contentType: string | undefined, requestEncoding: OtlpEncoding): OtlpExportResult | undefined {
  if (body.length === 0) return { rejected: 0n };
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding: OtlpEncoding | undefined = type === '' ? requestEncoding : type === OTLP_CONTENT_TYPE.json ? 'json' : type === OTLP_CONTENT_TYPE.protobuf ? 'protobuf' : undefined;
  try {
    if (encoding === 'json') return fromParsed(JSON.parse(body.toString('utf8')));
    if (encoding === 'protobuf') return fromParsed(ResponseType.toObject(ResponseType.decode(body), { longs: String, defaults: false }));
  } catch {
    return undefined;
  }
  return undefined;
}
