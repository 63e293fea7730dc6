// A real OpenID provider for the gateway's app tests: `oidc-provider` (a certified
// implementation of OpenID Connect) with one confidential client, the authorization
// code flow with PKCE (S256) required, RS256 ID tokens, and test accounts that sign in
// with a username and password through a plain HTML form (no script, no consent page:
// the gateway is a first-party client, so its grant is made at sign-in).
//
// Usage (every option also reads an environment variable, shown in brackets):
//
//   node tests/oidc/provider.mjs --port 0 \
//     --client-id gateway-app --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:8080/app/auth/callback \
//     [--post-logout-redirect-uri http://127.0.0.1:8080/app/] \
//     [--issuer http://127.0.0.1:PORT] [--host 127.0.0.1] [--accounts accounts.json]
//
//   --port N                  [OIDC_PORT]        0 (the default) takes a free port
//   --host H                  [OIDC_HOST]        address to listen on, 127.0.0.1
//   --issuer URL              [OIDC_ISSUER]      default http://<host>:<port>
//   --client-id ID            [OIDC_CLIENT_ID]   default gateway-app
//   --client-secret S         [OIDC_CLIENT_SECRET] default gateway-app-secret
//   --redirect-uri URL        [OIDC_REDIRECT_URIS, space-separated] repeatable
//   --post-logout-redirect-uri URL [OIDC_POST_LOGOUT_REDIRECT_URIS] repeatable
//   --client JSON             [OIDC_CLIENT]      a whole client's metadata, instead of the above
//   --accounts FILE           [OIDC_ACCOUNTS]    JSON: [{"username","password","claims":{...}}]
//   --accounts-json JSON      [OIDC_ACCOUNTS_JSON] the same, inline
//
// When it listens it prints one JSON line on stdout and nothing else there:
//   {"ready":true,"issuer":"http://127.0.0.1:40123","port":40123}
// (logs go to stderr). It stops on SIGTERM or SIGINT, or when its stdin closes if
// started with --exit-with-stdin, so a test that dies does not leave it running.
//
// Claims: each account's `claims` object is released as is (besides `sub`, the
// username) to a client that asks for the scope `gateway` (names in the `claims` other
// than the standard profile ones) and `profile` (`name`, `locale`, ...). Their names
// are whatever the accounts say: the defaults below use `permissions` (space-separated,
// like an OAuth `scope`), `jurisdiction` (a gazetteer code) and `facility` (a facility
// id), the names the gateway's `[app]` section expects by default. Claims go into the
// ID token itself (`conformIdTokenClaims: false`), as well as the userinfo endpoint.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    client: { type: 'string' },
    accounts: { type: 'string' },
    'accounts-json': { type: 'string' },
    'exit-with-stdin': { type: 'boolean' },
  },
  strict: true,
});

const env = process.env;
const words = (text) => (text ? text.split(/\s+/).filter(Boolean) : []);

const host = args.host ?? env.OIDC_HOST ?? '127.0.0.1';
const port = Number(args.port ?? env.OIDC_PORT ?? 0);

// The default people: a health-centre head, a district officer and a provincial
// officer, as a ministry's identity provider would describe them. The facility id is
// a placeholder: tests pass the id of a facility in their registry.
const DEFAULT_ACCOUNTS = [
  {
    username: 'site-head',
    password: 'site-head-password',
    claims: {
      name: 'សុខ ចាន់ថា (Sok Chantha)',
      locale: 'km',
      permissions: 'rosters:write facilities:read',
      jurisdiction: '010201',
      facility: '00000000-0000-0000-0000-000000000000',
    },
  },
  {
    username: 'district-officer',
    password: 'district-officer-password',
    claims: {
      name: 'ជា វណ្ណា (Chea Vanna)',
      locale: 'km',
      permissions: 'findings:review matches:review reports:read staff:read',
      jurisdiction: '0102',
    },
  },
  {
    username: 'provincial-officer',
    password: 'provincial-officer-password',
    claims: {
      name: 'លី សុភាព (Ly Sopheap)',
      locale: 'km',
      permissions: 'reports:read',
      jurisdiction: '01',
    },
  },
];

function loadAccounts() {
  let text = args['accounts-json'] ?? env.OIDC_ACCOUNTS_JSON;
  const file = args.accounts ?? env.OIDC_ACCOUNTS;
  if (text === undefined && file !== undefined) text = readFileSync(file, 'utf8');
  const accounts = text === undefined ? DEFAULT_ACCOUNTS : JSON.parse(text);
  if (!Array.isArray(accounts) || accounts.length === 0) {
    throw new Error('accounts: expected a non-empty JSON array');
  }
  const byUsername = new Map();
  for (const account of accounts) {
    if (typeof account.username !== 'string' || typeof account.password !== 'string') {
      throw new Error('accounts: each needs a string username and password');
    }
    byUsername.set(account.username, { claims: {}, ...account });
  }
  return byUsername;
}

function loadClient() {
  const inline = args.client ?? env.OIDC_CLIENT;
  const base = inline !== undefined ? JSON.parse(inline) : {
    client_id: args['client-id'] ?? env.OIDC_CLIENT_ID ?? 'gateway-app',
    client_secret: args['client-secret'] ?? env.OIDC_CLIENT_SECRET ?? 'gateway-app-secret',
    redirect_uris: args['redirect-uri'] ?? words(env.OIDC_REDIRECT_URIS),
    post_logout_redirect_uris: args['post-logout-redirect-uri']
      ?? words(env.OIDC_POST_LOGOUT_REDIRECT_URIS),
  };
  if (!base.redirect_uris || base.redirect_uris.length === 0) {
    throw new Error('client: give at least one --redirect-uri');
  }
  return {
    client_name: 'Interop Gateway app',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    ...base,
  };
}

const accounts = loadAccounts();
const client = loadClient();

// Standard profile claims go with `profile`; every other claim an account carries goes
// with the scope `gateway`.
const PROFILE_CLAIMS = ['name', 'given_name', 'family_name', 'preferred_username', 'locale'];
const gatewayClaims = new Set();
for (const account of accounts.values()) {
  for (const name of Object.keys(account.claims)) {
    if (!PROFILE_CLAIMS.includes(name) && name !== 'sub') gatewayClaims.add(name);
  }
}

// A fresh RSA key per run: the relying party reads it from the JWKS endpoint.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

// Pages with no external resource (the tests' browser has no internet).
const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:2rem auto;padding:0 1rem;color:#111}
label{display:block;margin-top:1rem}input,button{font-size:1rem;width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;background:#1a4f8b;color:#fff;border:0}.error{color:#a00000}</style>
</head><body><main>${body}</main></body></html>`;

function sameText(a, b) {
  const left = Buffer.from(String(a));
  const right = Buffer.from(String(b));
  return left.length === right.length && timingSafeEqual(left, right);
}

const configuration = {
  clients: [client],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'profile', 'gateway'],
  claims: {
    openid: ['sub'],
    profile: PROFILE_CLAIMS,
    gateway: [...gatewayClaims],
  },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `<h1>Sign out?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<h1>Signed out</h1>');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1>${Object.entries(out)
      .map(([key, value]) => `<p class="error"><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`).join('')}`);
  },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { ...account.claims, sub };
      },
    };
  },
  // The gateway is a first-party client: it gets what it asks for without a consent
  // page (the account still signs in with its password).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    await grant.save();
    return grant;
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
};

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, resolve);
});
const actualPort = server.address().port;
const issuer = args.issuer ?? env.OIDC_ISSUER ?? `http://${host}:${actualPort}`;

const provider = new Provider(issuer, configuration);
provider.proxy = true;

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 16 * 1024) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function loginPage(uid, params, error) {
  return page('Sign in', `<h1>Sign in</h1>
<p>to ${escapeHtml(params.client_id)}</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>`);
}

// The interaction pages: a login form checked against the accounts' passwords.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
  if (!match) return next();
  ctx.set('cache-control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
  const { prompt, params } = details;
  if (prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant; any other prompt is not expected.
    ctx.throw(501, `prompt ${prompt.name} not implemented`);
  }
  if (ctx.method === 'GET' && !match[2]) {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, params);
    return undefined;
  }
  if (ctx.method === 'POST' && match[2]) {
    const form = await readForm(ctx.req);
    const username = form.get('username') ?? '';
    const account = accounts.get(username);
    if (!account || !sameText(account.password, form.get('password') ?? '')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(details.uid, params, 'Wrong username or password.');
      return undefined;
    }
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: username },
    }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return undefined;
  }
  ctx.throw(405);
  return undefined;
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ ready: true, issuer, port: actualPort })}\n`);

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (args['exit-with-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
