// MSAL Node (@azure/msal-node), Microsoft's library for Node apps, against Portico over HTTPS.
// Run by crates/portico/tests/integration/msal_node.rs. Arguments:
//   device AUTHORITY CLIENT_ID HOST      the device code flow: prints the code for the person
//                                        (one JSON line), then the result once they approved
//   client-credentials AUTHORITY CLIENT_ID HOST SECRET SCOPE
// HOST (host:port) is listed in knownAuthorities, so MSAL asks no Microsoft instance discovery.
const msal = require('@azure/msal-node');

const [mode, authority, clientId, host, secret, scope] = process.argv.slice(2);
const auth = { clientId, authority, knownAuthorities: [host] };

function summary(result) {
  return {
    access_token: result.accessToken,
    id_token_claims: result.idTokenClaims,
    token_type: result.tokenType,
    account: result.account ? result.account.username : null,
  };
}

async function main() {
  if (mode === 'device') {
    const app = new msal.PublicClientApplication({ auth });
    const result = await app.acquireTokenByDeviceCode({
      scopes: [],
      deviceCodeCallback: (code) => {
        console.log(JSON.stringify({
          user_code: code.userCode,
          verification_uri: code.verificationUri,
          interval: code.interval,
          message: code.message,
        }));
      },
    });
    console.log(JSON.stringify(summary(result)));
  } else if (mode === 'client-credentials') {
    const app = new msal.ConfidentialClientApplication({ auth: { ...auth, clientSecret: secret } });
    const result = await app.acquireTokenByClientCredential({ scopes: [scope] });
    console.log(JSON.stringify(summary(result)));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String(err && (err.errorCode || err.message) || err), detail: String(err) }));
  process.exit(1);
});
