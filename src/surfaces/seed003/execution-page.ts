import { FerryError } from '../../errors/index.js';

/** What one `GET /api/executions` answers when it names no `limit`: the newest hundred. */
export const DEFAULT_EXECUTION_PAGE = 100;
export const MAX_EXECUTION_PAGE = 1000;

/** A page of the execution list: at most `limit`, older than the cursor `before` when given. */
export interface ExecutionPage {
  limit: number;
  before: number | undefined;
}

/**
 * The seed lists every execution of its user at once; Ferry answers the newest page, with
 * `next` for the rest (its /v1 convention: `?limit=&cursor=`), so one list never grows without bound.
 */
export function executionPage(query: URLSearchParams): ExecutionPage {
  const limit = integer(query.get('limit'), 'limit', MAX_EXECUTION_PAGE) ?? DEFAULT_EXECUTION_PAGE;
  return { limit, before: integer(query.get('cursor'), 'cursor', Number.MAX_SAFE_INTEGER) };
}

function integer(raw: string | null, name: string, max: number): number | undefined {
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > max) throw new FerryError('invalid-query', `${name}: '${raw.slice(0, 40)}' is not an integer from 1 to ${max}`);
  return n;
}
