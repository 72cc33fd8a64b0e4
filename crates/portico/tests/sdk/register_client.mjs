// An app registering itself with openid-client (panva), as RFC 7591 clients do: discovery
// names the registration endpoint, the initial access token authorizes the registration,
// and the registered client then gets a token with the secret it was given. Run by
// crates/portico/tests/integration/registration.rs.
// Arguments: issuer, initial access token, redirect URI.
import * as client from 'openid-client';

const [issuer, initialAccessToken, redirectUri] = process.argv.slice(2);
const config = await client.dynamicClientRegistration(
  new URL(issuer),
  {
    client_name: 'Self-registered shop',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  undefined,
  { initialAccessToken, execute: [client.allowInsecureRequests] },
);
const metadata = config.clientMetadata();
const tokens = await client.clientCredentialsGrant(config, {
  scope: `${metadata.client_id}/.default`,
});
console.log(
  JSON.stringify({
    client_id: metadata.client_id,
    registration_access_token: metadata.registration_access_token,
    registration_client_uri: metadata.registration_client_uri,
    access_token: tokens.access_token,
  }),
);
