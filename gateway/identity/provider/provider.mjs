// The gateway's development and test OpenID provider: panva's certified `oidc-provider`,
// configured from files that `gateway provider` writes (see gateway/identity/dev_provider.py).
//
// It is a real provider in its own process, not a shortcut: discovery, JWKS, client
// credentials with private_key_jwt (RFC 7523), the device flow (RFC 8628), authorization code
// with PKCE, refresh tokens and JWT access tokens (RFC 9068) for one resource, the gateway.
// Production deployments point the gateway at their own provider (Keycloak, Entra ID, ...)
// instead; this one exists so that the demo and the tests go through the same verification.
//
// Usage: node provider.mjs <state folder> <port>
//   <state>/keys.json      private JWKS; the first key of each algorithm signs (rotation:
//                          put the new key first and keep the old one until its tokens expire)
//   <state>/clients.json   static clients (organisation, roles, unit as client metadata)
//   <state>/accounts.json  people: login name -> organisation, unit, roles, name
//   <state>/settings.json  issuer, audience, token lifetime, initial access token, listen
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Provider, { errors } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const [state, port] = process.argv.slice(2);
const read = (name) => JSON.parse(readFileSync(join(state, name), 'utf8'));

const settings = read('settings.json');
const keys = read('keys.json');
const clients = read('clients.json');
// People are read on every lookup: a person removed or given other roles shows in the next
// token (a refresh), which is how the gateway's console notices and ends the session.
const accounts = () => read('accounts.json');

// The provider's state in memory, without the quick-start adapter's eviction: that one keeps
// the 1,000 most recent entries, so a long test session or demo (every token request stores
// its assertion's jti) silently forgot dynamically registered clients (invalid_client).
// Entries with a lifetime expire; registered clients live as long as the process.
class ExpiringStore {
  #entries = new Map();
  #writes = 0;

  get(key) {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiry !== undefined && entry.expiry <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value, options) {
    const expiry = options && options.maxAge ? Date.now() + options.maxAge : undefined;
    this.#entries.set(key, { value, expiry });
    this.#writes += 1;
    if (this.#writes % 1000 === 0) this.#sweep();
  }

  delete(key) {
    this.#entries.delete(key);
  }

  #sweep() {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiry !== undefined && entry.expiry <= now) this.#entries.delete(key);
    }
  }
}
const store = new ExpiringStore();

const ROLES = new Set(['source', 'recipient', 'approver', 'auditor', 'operator']);
const ALGS = new Set(['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519']);

// The claims the gateway maps (see the gateway's trusted-issuers file): organisation and unit
// at the top level, roles nested as Keycloak does (realm_access.roles), the person in `sub`.
function gatewayClaims(who) {
  const claims = { organisation: who.organisation, realm_access: { roles: who.roles } };
  if (who.unit) claims.unit = who.unit;
  if (who.name) claims.name = who.name;
  return claims;
}

function validateClientMetadata(ctx, key, value) {
  if (key === 'organisation' && value !== undefined && (typeof value !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(value))) {
    throw new errors.InvalidClientMetadata('organisation must be an organisation id');
  }
  if (key === 'unit' && value !== undefined && (typeof value !== 'string' || value.length > 64)) {
    throw new errors.InvalidClientMetadata('unit must be a short string');
  }
  if (key === 'roles' && value !== undefined
      && (!Array.isArray(value) || !value.every((r) => typeof r === 'string' && ROLES.has(r)))) {
    throw new errors.InvalidClientMetadata('roles must be a list of gateway roles');
  }
  if (key === 'access_token_alg' && value !== undefined && !ALGS.has(value)) {
    throw new errors.InvalidClientMetadata('access_token_alg must be RS256, PS256, ES256 or EdDSA');
  }
}

// Browsers may call the token endpoint for public clients (the API docs' Authorize button)
// from the origins of their redirect URIs; a loopback redirect matches any port (RFC 8252).
function loopbackless(uri) {
  const url = URL.parse(uri);
  if (!url) return undefined;
  if (['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) return `${url.protocol}//${url.hostname}`;
  return url.origin;
}

function clientBasedCORS(ctx, origin, client) {
  if (origin === 'null' || client.clientAuthMethod !== 'none') return false;
  return client.redirectUris.some((uri) => loopbackless(uri) === loopbackless(origin));
}

const provider = new Provider(settings.issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  clientBasedCORS,
  jwks: keys,
  clients,
  async findAccount(ctx, id) {
    const person = accounts()[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...gatewayClaims(person) };
      },
    };
  },
  extraClientMetadata: {
    properties: ['organisation', 'unit', 'roles', 'access_token_alg'],
    validator: validateClientMetadata,
  },
  async extraTokenClaims(ctx, token) {
    if (token.accountId) {
      const person = accounts()[token.accountId];
      return person ? gatewayClaims(person) : undefined;
    }
    const client = await provider.Client.find(token.clientId);
    if (!client || !client.organisation) return undefined;
    return gatewayClaims({ organisation: client.organisation, unit: client.unit, roles: client.roles || [] });
  },
  features: {
    devInteractions: { enabled: true }, // the provider's own login and consent pages
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    registration: { enabled: true, initialAccessToken: settings.initial_access_token },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => settings.audience,
      useGrantedResource: () => true,
      async getResourceServerInfo(ctx, indicator, client) {
        if (indicator !== settings.audience) throw new errors.InvalidTarget();
        return {
          scope: 'gateway',
          audience: settings.audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: settings.access_token_ttl,
          jwt: { sign: { alg: client.access_token_alg || settings.access_token_alg } },
        };
      },
    },
  },
  scopes: ['openid', 'offline_access', 'gateway'],
  clientAuthMethods: ['private_key_jwt', 'none'],
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  ttl: {
    AccessToken: settings.access_token_ttl,
    ClientCredentials: settings.access_token_ttl,
    DeviceCode: 600,
    Grant: 86400,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 86400,
    Session: 86400,
  },
  cookies: { keys: [settings.cookie_key] },
  pkce: { required: () => true },
});

provider.proxy = false;
const server = provider.listen(Number(port), settings.listen || '127.0.0.1', () => {
  process.stdout.write(`ready ${settings.issuer}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
