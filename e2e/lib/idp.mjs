// A real OpenID provider (the npm package `oidc-provider`) on loopback, for single sign-on
// tests. Its port is taken before the hub starts (the hub's configuration names the issuer);
// its clients are registered once the hub's address is known.

import { createServer } from "node:http";
import Provider from "oidc-provider";

/** People the provider knows; any password signs them in (oidc-provider's dev login). */
export const PEOPLE = {
  grace: { email: "grace@acme.test", email_verified: true, name: "Grace Hopper", groups: ["staff"] },
  ada: { email: "ada@acme.test", email_verified: true, name: "Ada Lovelace", groups: ["it-admins"] },
  mallory: { email: "mallory@acme.test", email_verified: false, name: "Mallory", groups: ["staff"] },
};

/** Listens on a free loopback port; `issuer` is known before any client is. */
export async function reserveIdp() {
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    /**
     * Starts answering as an OpenID provider with these clients. A client with
     * `wrongAudience: true` receives ID tokens minted for another audience, as a
     * misbehaving or mixed-up provider would send them.
     */
    start(clients) {
      const provider = new Provider(issuer, {
        clients: clients.map(({ wrongAudience: _, ...client }) => ({
          grant_types: ["authorization_code"],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_basic",
          ...client,
        })),
        claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
        // Put the scope's claims into the ID token (the hub reads them from there).
        conformIdTokenClaims: false,
        cookies: { keys: ["e2e-cookie-key-not-secret"] },
        features: { devInteractions: { enabled: true } },
        pkce: { required: () => true },
        async findAccount(_ctx, id) {
          const person = PEOPLE[id];
          if (!person) return undefined;
          return { accountId: id, claims: async () => ({ sub: `${id}-subject`, ...person }) };
        },
      });
      const misdirected = new Set(clients.filter((c) => c.wrongAudience).map((c) => c.client_id));
      const issue = provider.IdToken.prototype.issue;
      provider.IdToken.prototype.issue = function (options) {
        if (options?.use === "idtoken" && misdirected.has(this.client?.clientId)) {
          const real = this.client;
          this.client = new Proxy(real, {
            get: (target, key) => (key === "clientId" ? "some-other-app" : Reflect.get(target, key, target)),
          });
        }
        return issue.call(this, options);
      };
      provider.on("server_error", (_ctx, err) => console.error("idp error:", err));
      handler = provider.callback();
      return provider;
    },
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
