// A real, certified OpenID provider for the tests: panva's oidc-provider on a loopback port,
// with one confidential test client (PKCE required) and two test users. Its development
// login page accepts a user name (erika or nina) and any password.
// Started by tests/web/test_oidc_browser.py: PORT, REDIRECT_URI and NODE_PATH come from there.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const users = {
  erika: { sub: 'erika', email: 'erika@kisselbach.example', email_verified: true, name: 'Erika Editor' },
  nina: { sub: 'nina', email: 'nina@kisselbach.example', email_verified: true, name: 'Nina Neu' },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'exchange-test',
    client_secret: 'test-secret',
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'email', 'profile'],
  findAccount: async (ctx, id) => (users[id]
    ? { accountId: id, claims: async () => users[id] } : undefined),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['exchange-test-cookie-key'] },
  ttl: { IdToken: 300 },
  conformIdTokenClaims: false, // name and e-mail in the ID token, as Keycloak sends them
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => { console.log(`oidc-provider ready at ${issuer}`); });
