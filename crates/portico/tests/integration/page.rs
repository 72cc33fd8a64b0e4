//! Driving the hosted pages as a browser does (reqwest with cookies, no redirects followed):
//! one flow page at a time, its form submitted with its hidden fields.

use std::path::Path;

use portico_core::directory::{NewUserFlow, TenantRef, UserFlowConfig};

use crate::harness::{PASSWORD, TestServer, hidden_inputs, html_unescape};
use crate::otp_delivery::{code_in, next_file};

/// A page of a flow in one browser.
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) html: String,
    pub(crate) location: Option<String>,
}

impl Page {
    pub(crate) async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        // Unescaped, so assertions read like the page does (form values here never hold
        // entities).
        Self {
            status,
            html: html_unescape(&response.text().await.unwrap()),
            location,
        }
    }

    pub(crate) fn action(&self) -> String {
        html_unescape(
            self.html
                .split(r#"<form method="post" action=""#)
                .nth(1)
                .expect("a form")
                .split('"')
                .next()
                .unwrap(),
        )
    }

    /// Submits the page's form with `fields` (and its hidden inputs).
    pub(crate) async fn submit(&self, browser: &reqwest::Client, fields: &[(&str, &str)]) -> Page {
        let mut form = hidden_inputs(&self.html);
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Page::from(
            browser
                .post(self.action())
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The authenticator-app secret the registration page shows (base32).
    pub(crate) fn totp_secret(&self) -> String {
        self.html
            .split(r#"<code id="totp-secret">"#)
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("an authenticator secret on the page")
            .to_owned()
    }

    /// The recovery codes the page shows (none on most pages).
    pub(crate) fn recovery_codes(&self) -> Vec<String> {
        self.html
            .split("<li><code>")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .map(str::to_owned)
            .collect()
    }

    /// Loads the flow's current page again (`GET /{tenant}/signin?flow=ID`).
    pub(crate) async fn reload(&self, browser: &reqwest::Client) -> Page {
        self.reload_in(browser, None).await
    }

    /// Loads the flow's current page again, in another language if `locale` says so.
    pub(crate) async fn reload_in(&self, browser: &reqwest::Client, locale: Option<&str>) -> Page {
        let flow = hidden_inputs(&self.html)
            .into_iter()
            .find(|(name, _)| name == "flow")
            .map(|(_, value)| value)
            .expect("a flow id");
        let mut url = url::Url::parse(&self.action()).unwrap();
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| locale.is_none() || k != "ui_locales")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        query.push(("flow".into(), flow));
        if let Some(locale) = locale {
            query.push(("ui_locales".into(), locale.into()));
        }
        url.query_pairs_mut().clear().extend_pairs(query);
        Page::from(browser.get(url).send().await.unwrap()).await
    }

    /// Follows a link by its id.
    pub(crate) async fn follow(&self, browser: &reqwest::Client, id: &str) -> Page {
        let href = self
            .html
            .split(&format!(r#"id="{id}""#))
            .next()
            .and_then(|before| before.rsplit(r#"href=""#).next())
            .map(|rest| html_unescape(rest.split('"').next().unwrap()))
            .expect("the link");
        let response = browser.get(href).send().await.unwrap();
        let next = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .expect("a redirect to the new flow");
        Page::from(browser.get(next).send().await.unwrap()).await
    }

    pub(crate) fn h1(&self) -> &str {
        self.html
            .split("<h1>")
            .nth(1)
            .and_then(|s| s.split("</h1>").next())
            .unwrap_or_default()
    }

    pub(crate) fn signed_in(&self) -> bool {
        self.status == 303
            && self
                .location
                .as_deref()
                .is_some_and(|l| l.contains("code="))
    }
}

pub(crate) async fn authorize(
    server: &TestServer,
    browser: &reqwest::Client,
    client_id: &str,
    extra: &[(&str, &str)],
) -> Page {
    let redirect = server.redirect_uri();
    let response = browser
        .get(server.url("oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", redirect.as_str()),
            ("scope", "openid"),
        ])
        .query(extra)
        .send()
        .await
        .unwrap();
    Page::from(response).await
}

/// Opens the sign-in page and submits the email and the harness's password.
pub(crate) async fn sign_in_with_password(
    server: &TestServer,
    browser: &reqwest::Client,
    client_id: &str,
    email: &str,
) -> Page {
    authorize(server, browser, client_id, &[])
        .await
        .submit(browser, &[("email", email), ("password", PASSWORD)])
        .await
}

/// Goes through "Forgot password?" for `email` (the code read from the file outbox under
/// `dir`) to the page that asks for the new password.
pub(crate) async fn reset_to_new_password(
    server: &TestServer,
    browser: &reqwest::Client,
    client_id: &str,
    email: &str,
    dir: &Path,
) -> Page {
    let page = authorize(server, browser, client_id, &[])
        .await
        .follow(browser, "forgot-password")
        .await
        .submit(browser, &[("action", "identify"), ("email", email)])
        .await;
    let code = mail_code(dir).await;
    let page = page
        .submit(browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(page.h1(), "Choose a new password", "{}", page.html);
    page
}

pub(crate) async fn mail_code(dir: &Path) -> String {
    code_in(&next_file(&dir.join("mail"), "eml").await)
}

pub(crate) async fn flow_for(server: &TestServer, client_id: &str, config: UserFlowConfig) {
    server
        .portico()
        .create_user_flow(
            &TenantRef::Id(server.tenant.id),
            NewUserFlow {
                name: format!("custom-{client_id}"),
                config,
                apps: vec![client_id.parse().unwrap()],
            },
        )
        .await
        .unwrap();
}
