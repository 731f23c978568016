import { escapeHtml } from '../../lib/html';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { RouteDef } from '../../http/routes';
import type { Clock } from '../../lib/clock';
import { publicJwk, type SigningKey } from '../../modules/identity/signing-keys';

/**
 * A stand-in for VNeID that speaks OpenID Connect (discovery, JWKS, authorize, token) so the whole
 * sign-in runs offline. The citizens it knows are the people in the demo data; a tester may also
 * type a new citizen's details. Enabled by VNEID_SIMULATOR (on in development and tests, off by
 * default in production). Its errors follow OAuth 2.0, not our envelope: it plays an outside system.
 */
export interface VneidSimulatorSettings {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  key: SigningKey;
}

const AuthorizeQuery = z.object({
  response_type: z.literal('code'),
  client_id: z.string(),
  redirect_uri: z.string(),
  scope: z.string().optional(),
  state: z.string().min(8).max(200),
  nonce: z.string().min(8).max(200),
  code_challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  code_challenge_method: z.literal('S256'),
});

const Citizen = z.object({
  personal_id: z.string().regex(/^\d{12}$/),
  full_name: z.string().trim().min(1).max(200).optional(),
  date_of_birth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  gender: z.enum(['male', 'female']).optional(),
});

const CodeClaims = z.object({
  personal_id: z.string(),
  name: z.string(),
  birthdate: z.string(),
  gender: z.enum(['male', 'female']),
  client_id: z.string(),
  redirect_uri: z.string(),
  code_challenge: z.string(),
  nonce: z.string(),
});

const TokenRequest = z.object({
  grant_type: z.literal('authorization_code'),
  code: z.string().min(1),
  redirect_uri: z.string(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  code_verifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/),
});

const CODE_TTL_SECONDS = 60;
const ID_TOKEN_TTL_SECONDS = 300;

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

interface DemoIdentity {
  personal_id: string;
  full_name: string;
  roles: string;
}

async function listDemoIdentities(db: Knex): Promise<DemoIdentity[]> {
  const result = await db.raw<{ rows: DemoIdentity[] }>(`
    SELECT p.personal_id, p.full_name, string_agg(DISTINCT r.role, ', ' ORDER BY r.role) AS roles
    FROM people p
    JOIN (
      SELECT person_id, role || ' · ' || s.name AS role FROM staff_assignments sa JOIN schools s ON s.id = sa.school_id WHERE sa.revoked_at IS NULL
      UNION ALL
      SELECT person_id, 'finance_officer · ' || coalesce(d.name, c.name) FROM finance_scopes f
        JOIN cities c ON c.id = f.city_id LEFT JOIN districts d ON d.id = f.district_id WHERE f.revoked_at IS NULL
      UNION ALL
      SELECT p2.id, 'parent (population registry)' FROM people p2 WHERE EXISTS (SELECT 1 FROM sim_registry_relations x WHERE x.personal_id = p2.personal_id)
    ) r ON r.person_id = p.id
    GROUP BY p.personal_id, p.full_name
    ORDER BY min(r.role), p.full_name
    LIMIT 100`);
  return result.rows;
}

function renderAuthorizePage(params: z.infer<typeof AuthorizeQuery>, identities: DemoIdentity[]): string {
  const hidden = Object.entries(params)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(String(v ?? ''))}">`)
    .join('');
  const rows = identities
    .map(
      (p) => `<tr><td>${escapeHtml(p.full_name)}</td><td><code>${escapeHtml(p.personal_id)}</code></td><td>${escapeHtml(p.roles)}</td>
        <td><form method="post">${hidden}<input type="hidden" name="personal_id" value="${escapeHtml(p.personal_id)}"><button>Đăng nhập</button></form></td></tr>`,
    )
    .join('\n');
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>VNeID (mô phỏng) – Đăng nhập</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}.warn{background:#fff3cd;padding:.6rem}</style></head>
<body><h1>VNeID – Định danh điện tử (mô phỏng)</h1>
<p class="warn">Đây là máy chủ VNeID <strong>mô phỏng</strong> dùng cho phát triển và kiểm thử. Không dùng cho dữ liệu thật.</p>
<h2>Chọn danh tính mẫu</h2>
<table><thead><tr><th>Họ và tên</th><th>Số định danh cá nhân</th><th>Vai trò</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<h2>Hoặc nhập công dân khác</h2>
<form method="post">${hidden}
<p><label>Số định danh cá nhân <input name="personal_id" required pattern="[0-9]{12}"></label></p>
<p><label>Họ và tên <input name="full_name"></label></p>
<p><label>Ngày sinh <input name="date_of_birth" type="date"></label></p>
<p><label>Giới tính <select name="gender"><option value="male">Nam</option><option value="female">Nữ</option></select></label></p>
<button>Đăng nhập</button></form></body></html>`;
}

export function vneidSimulatorRoutes(deps: { db: Knex; clock: Clock; settings: VneidSimulatorSettings }): RouteDef[] {
  const { db, clock, settings } = deps;
  const base = '/sim/vneid';

  function checkClient(params: { client_id: string; redirect_uri: string }): string | null {
    if (params.client_id !== settings.clientId) return 'unknown client_id';
    if (params.redirect_uri !== settings.redirectUri) return 'redirect_uri is not registered for this client';
    return null;
  }

  async function authorizeWithCitizen(req: Request, res: Response): Promise<void> {
    const params = AuthorizeQuery.safeParse(req.body);
    if (!params.success) return oauthError(res, 400, 'invalid_request', 'missing or malformed authorization parameters');
    const clientProblem = checkClient(params.data);
    if (clientProblem) return oauthError(res, 400, 'unauthorized_client', clientProblem);
    const citizen = Citizen.safeParse({
      personal_id: req.body.personal_id,
      full_name: req.body.full_name || undefined,
      date_of_birth: req.body.date_of_birth || undefined,
      gender: req.body.gender || undefined,
    });
    if (!citizen.success) return oauthError(res, 400, 'invalid_request', 'personal_id must be 12 digits');

    const known = await db('people').where({ personal_id: citizen.data.personal_id }).first<{ full_name: string; date_of_birth: string; gender: 'male' | 'female' } | undefined>();
    const identity = known ?? (citizen.data.full_name && citizen.data.date_of_birth && citizen.data.gender
      ? { full_name: citizen.data.full_name, date_of_birth: citizen.data.date_of_birth, gender: citizen.data.gender }
      : undefined);
    if (!identity) return oauthError(res, 400, 'access_denied', 'unknown citizen: give full_name, date_of_birth and gender');

    const code = jwt.sign(
      {
        personal_id: citizen.data.personal_id,
        name: identity.full_name,
        birthdate: identity.date_of_birth,
        gender: identity.gender,
        client_id: params.data.client_id,
        redirect_uri: params.data.redirect_uri,
        code_challenge: params.data.code_challenge,
        nonce: params.data.nonce,
        iat: Math.floor(clock.now().getTime() / 1000),
      },
      settings.key.privateKey,
      { algorithm: 'RS256', keyid: settings.key.kid, expiresIn: CODE_TTL_SECONDS, audience: `${settings.issuerUrl}/token`, issuer: settings.issuerUrl },
    );
    const location = new URL(params.data.redirect_uri);
    location.searchParams.set('code', code);
    location.searchParams.set('state', params.data.state);
    res.redirect(302, location.toString());
  }

  return [
    {
      method: 'get',
      path: `${base}/.well-known/openid-configuration`,
      auth: 'public',
      handler: (_req, res) => {
        res.json({
          issuer: settings.issuerUrl,
          authorization_endpoint: `${settings.issuerUrl}/authorize`,
          token_endpoint: `${settings.issuerUrl}/token`,
          jwks_uri: `${settings.issuerUrl}/jwks`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
          scopes_supported: ['openid', 'profile'],
          claims_supported: ['sub', 'personal_id', 'name', 'birthdate', 'gender', 'acr', 'nonce'],
        });
      },
    },
    {
      method: 'get',
      path: `${base}/jwks`,
      auth: 'public',
      handler: (_req, res) => {
        res.json({ keys: [publicJwk(settings.key)] });
      },
    },
    {
      method: 'get',
      path: `${base}/authorize`,
      auth: 'public',
      handler: async (req, res) => {
        const params = AuthorizeQuery.safeParse(req.query);
        if (!params.success) return oauthError(res, 400, 'invalid_request', 'missing or malformed authorization parameters');
        const clientProblem = checkClient(params.data);
        if (clientProblem) return oauthError(res, 400, 'unauthorized_client', clientProblem);
        res.type('html').send(renderAuthorizePage(params.data, await listDemoIdentities(db)));
      },
    },
    { method: 'post', path: `${base}/authorize`, auth: 'public', body: 'form', handler: authorizeWithCitizen },
    {
      method: 'post',
      path: `${base}/token`,
      auth: 'public',
      body: 'form',
      handler: (req, res) => {
        const request = TokenRequest.safeParse(req.body);
        if (!request.success) return oauthError(res, 400, 'invalid_request', 'malformed token request');
        if (request.data.client_id !== settings.clientId || !safeEqual(request.data.client_secret ?? '', settings.clientSecret)) {
          return oauthError(res, 401, 'invalid_client', 'client authentication failed');
        }
        let claims: z.infer<typeof CodeClaims>;
        try {
          const payload = jwt.verify(request.data.code, settings.key.publicKey, { algorithms: ['RS256'],
                        issuer: settings.issuerUrl,
            audience: `${settings.issuerUrl}/token`,
            clockTimestamp: Math.floor(clock.now().getTime() / 1000),
          });
          claims = CodeClaims.parse(payload);
        } catch {
          return oauthError(res, 400, 'invalid_grant', 'the authorization code is invalid or expired');
        }
        if (claims.client_id !== request.data.client_id || claims.redirect_uri !== request.data.redirect_uri) {
          return oauthError(res, 400, 'invalid_grant', 'the code was issued to another client or redirect_uri');
        }
        const challenge = createHash('sha256').update(request.data.code_verifier).digest('base64url');
        if (!safeEqual(challenge, claims.code_challenge)) return oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');

        const idToken = jwt.sign(
          {
            personal_id: claims.personal_id,
            name: claims.name,
            birthdate: claims.birthdate,
            gender: claims.gender,
            acr: 'vneid:level2',
            nonce: claims.nonce,
            iat: Math.floor(clock.now().getTime() / 1000),
          },
          settings.key.privateKey,
          { algorithm: 'RS256', keyid: settings.key.kid, issuer: settings.issuerUrl, audience: settings.clientId, subject: createHash('sha256').update(`vneid:${claims.personal_id}`).digest('hex').slice(0, 32), expiresIn: ID_TOKEN_TTL_SECONDS },
        );
        res.setHeader('cache-control', 'no-store');
        res.json({ access_token: randomBytes(24).toString('base64url'), token_type: 'Bearer', expires_in: ID_TOKEN_TTL_SECONDS, id_token: idToken, scope: 'openid profile' });
      },
    },
  ];
}
