// A public client using DPoP through openid-client (panva), as a Node app would: discovery,
// the code redeemed with a DPoP proof (the library answers use_dpop_nonce itself), userinfo
// with the DPoP scheme, and a refresh. Run by crates/portico/tests/integration/dpop.rs.
// Arguments: issuer, client id, the callback URL with the code, the PKCE verifier.
import * as client from 'openid-client';

const [issuer, clientId, callback, verifier] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
const tokens = await client.authorizationCodeGrant(
  config,
  new URL(callback),
  { pkceCodeVerifier: verifier, idTokenExpected: true },
  undefined,
  { DPoP },
);
const userinfo = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub, {
  DPoP,
});
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, {
  DPoP,
});
console.log(
  JSON.stringify({
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    userinfo,
    refreshed_token_type: refreshed.token_type,
    refreshed_access_token: refreshed.access_token,
  }),
);
