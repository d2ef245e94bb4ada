/**
 * `GET /__admin/review-rules` (the rules in force) and `POST /__admin/review-rules` (replace them; `{}` = pass
 * everything again). Reached only through the admin gate of index.ts (this machine, JSON writes).
 */
import type { IncomingMessage } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import { readBody } from '../http-front.ts';
import { reviewRulesJson } from './rules.ts';
import { currentRules, setReviewRules } from './tasks.ts';

export async function reviewRulesAdmin(
  ctx: EmulatorContext,
  req: IncomingMessage,
  reply: (status: number, body: unknown) => void,
  refuse: (status: number, code: string, message: string) => void,
): Promise<void> {
  if (req.method === 'GET') return reply(200, reviewRulesJson(currentRules(ctx)));
  if (req.method !== 'POST') return refuse(405, 'MethodNotAllowed', 'Use GET or POST on /__admin/review-rules');
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/json')
    return refuse(415, 'UnsupportedMediaType', 'POST /__admin/review-rules takes Content-Type: application/json');
  try {
    const text = (await readBody(req, 64 << 10)).toString('utf8');
    return reply(200, reviewRulesJson(setReviewRules(ctx, text ? JSON.parse(text) : {})));
  } catch (error) {
    return reply(400, { error: { code: 'InvalidReviewRules', message: error instanceof Error ? error.message : String(error) } });
  }
}
