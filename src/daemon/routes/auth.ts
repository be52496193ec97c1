/** `POST /auth` (docker login): checks credentials against a registry through the narrow `AuthBackend`. */
import type { Router } from '../server/router.js';
import { invalidArgument } from '../../errdefs/index.js';
import { authConfigBody, type AuthConfig } from '../../api/types/auth.js';
import { decode } from '../../api/decode/schema.js';

export interface AuthBackend {
  login(auth: AuthConfig, signal?: AbortSignal): Promise<{ Status: string; IdentityToken: string }>;
}

export function registerAuthRoutes(router: Router, backend: AuthBackend): void {
  router.post('/auth', async (ctx) => {
    const body = decode(authConfigBody, (await ctx.body()) ?? null);
    if (!body || typeof body !== 'object') throw invalidArgument('missing auth configuration');
    const auth: AuthConfig = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string' && v) (auth as Record<string, string>)[k.toLowerCase()] = v;
    ctx.json(200, await backend.login(auth, ctx.signal));
  });
}
