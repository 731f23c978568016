import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates responses against openapi.yaml: the schema documented for the operation and status.
 * A response that drifts from the contract fails the test that produced it.
 */
export const openapi = parse(readFileSync(path.resolve(__dirname, '../../openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(openapi, 'openapi');

function pointerEscape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

interface ResponseLike {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Throws with the validation errors if the response does not match the documented schema. */
export function expectContract(res: ResponseLike, method: string, openapiPath: string): void {
  const operation = openapi.paths[openapiPath]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${openapiPath} is not in openapi.yaml`);
  const statusKey = String(res.status);
  const response = operation.responses?.[statusKey] ?? operation.responses?.default;
  if (!response) throw new Error(`${method} ${openapiPath} does not document status ${statusKey}`);
  const content = response.content?.['application/json'];
  if (!content?.schema) return;
  // A route that answers in several formats (the reports: JSON, CSV, XLSX, PDF) is checked against
  // the JSON schema only when it answered JSON.
  const type = String(res.headers?.['content-type'] ?? '');
  if (type !== '' && !/\bjson\b/.test(type)) return;
  const pointer = `openapi#/paths/${pointerEscape(openapiPath)}/${method.toLowerCase()}/responses/${statusKey in (operation.responses ?? {}) ? statusKey : 'default'}/content/application~1json/schema`;
  const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
  if (!validate(res.body)) {
    throw new Error(`${method} ${openapiPath} ${statusKey} does not match openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body).slice(0, 500)}`);
  }
}
