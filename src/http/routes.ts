import type { Request, Response } from 'express';

/**
 * Every route of the API is declared in a table like this one, mounted by app.ts. The same table
 * is what the contract test compares with openapi.yaml, so a route cannot exist undocumented.
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteDef {
  method: HttpMethod;
  /** Express path syntax (`/v1/schools/:school_id`). */
  path: string;
  /** `public` routes need no token; `user` routes need a valid access token and a known person. */
  auth: 'public' | 'user';
  /** POSTs that create things accept an Idempotency-Key header. */
  idempotent?: boolean;
  /** Body parser: JSON by default; `csv` for text/csv uploads; `text` for statement files (CSV or XML); `form` for OAuth form posts; `raw` for signed bank callbacks; `none` for GETs. */
  body?: 'json' | 'csv' | 'text' | 'form' | 'raw' | 'none';
  handler: (req: Request, res: Response) => Promise<void> | void;
}

/** `/v1/schools/:school_id` -> `/v1/schools/{school_id}`, the OpenAPI form. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
