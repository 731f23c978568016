import { loadConfig } from '../config';
import { systemClock } from '../lib/clock';
import { decodePersonalId } from '../lib/personal-id';
import { issueAccessToken } from '../modules/identity/access-tokens';
import { loadOrCreateSigningKey } from '../modules/identity/signing-keys';

/**
 * `npm run token -- <personal-id>`: prints an access token for that person, signed with the same
 * key as the server (JWT_PRIVATE_KEY, or the development key in DATA_DIR/keys). Roles are not put
 * in the token: the API resolves them from the database on every request.
 */
function main(): void {
  const personalId = process.argv[2] ?? '';
  if (!decodePersonalId(personalId)) {
    console.error('usage: npm run token -- <12-digit personal ID>');
    process.exit(2);
  }
  const config = loadConfig();
  const key = loadOrCreateSigningKey(config.jwt.privateKeyPem, config.dataDir, 'access-token');
  const { token } = issueAccessToken({ key, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTokenTtlSeconds }, systemClock, personalId, []);
  console.log(token);
}

main();
