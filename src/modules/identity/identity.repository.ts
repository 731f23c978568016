import type { Db } from '../../db/knex';

export async function insertSignInRequest(db: Db, request: { state: string; codeVerifier: string; nonce: string; createdAt: Date; expiresAt: Date }): Promise<void> {
  await db('sign_in_requests').insert({
    state: request.state,
    code_verifier: request.codeVerifier,
    nonce: request.nonce,
    created_at: request.createdAt,
    expires_at: request.expiresAt,
  });
}

/** Marks the request used and returns it, only if it was unused and unexpired: each state works once. */
export async function consumeSignInRequest(db: Db, state: string, now: Date): Promise<{ code_verifier: string; nonce: string } | undefined> {
  const [row] = await db('sign_in_requests')
    .where({ state })
    .whereNull('consumed_at')
    .where('expires_at', '>', now)
    .update({ consumed_at: now })
    .returning<{ code_verifier: string; nonce: string }[]>(['code_verifier', 'nonce']);
  return row;
}

export async function deleteExpiredSignInRequests(db: Db, before: Date): Promise<number> {
  return db('sign_in_requests').where('expires_at', '<', before).delete();
}
