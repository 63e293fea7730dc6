//! The demo's sign-in: `interop-gateway demo` has no OpenID provider, so it prints a
//! link for each of its people (a health-centre head, a district officer, a provincial
//! officer), each carrying a secret made for this run. Opening one opens the same
//! server-side session a sign-in through the provider does
//! ([`pages::open_session`]), with that person's scopes, jurisdiction and facility.
//!
//! Only `Application::build_with_demo_sign_in` (in `startup`) turns it
//! on, and only the demo command calls that: no setting or environment variable
//! reaches it, so `serve` answers every demo link with a 404.

use actix_web::{HttpRequest, HttpResponse, web};
use schema::AdminCode;
use serde::Deserialize;
use store::Store;
use uuid::Uuid;

use crate::Error;
use crate::app::pages::{self, PageError};
use crate::app::session::{random_token, same_secret};
use crate::app::{AppContext, oidc};

/// Where the demo's links point.
pub const DEMO_SIGN_IN_PATH: &str = "/app/auth/demo";

/// One of the demo's people: who they are and what they may do, as the claims of a
/// provider's ID token would say.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    /// What the person is, for the printed list (e.g. "district officer").
    pub role: String,
    /// The session's subject.
    pub subject: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub jurisdiction: Option<AdminCode>,
    pub facility: Option<Uuid>,
}

/// The demo's people, each with a secret of this run.
#[derive(Debug)]
pub struct DemoSignIn {
    people: Vec<(String, DemoPerson)>,
}

impl DemoSignIn {
    /// A fresh secret for each person.
    pub fn new(people: Vec<DemoPerson>) -> Result<Self, Error> {
        let people = people
            .into_iter()
            .map(|p| Ok((random_token()?, p)))
            .collect::<Result<_, Error>>()?;
        Ok(Self { people })
    }

    /// Each person with their sign-in link under `base` (scheme, host, port).
    pub fn links(&self, base: &str) -> Vec<(&DemoPerson, String)> {
        let base = base.trim_end_matches('/');
        self.people
            .iter()
            .map(|(secret, p)| (p, format!("{base}{DEMO_SIGN_IN_PATH}?key={secret}")))
            .collect()
    }

    /// The person whose secret `key` is; every secret is compared, in time that does
    /// not depend on which matched.
    fn person(&self, key: &str) -> Option<&DemoPerson> {
        self.people.iter().fold(None, |found, (secret, p)| {
            if same_secret(secret, key) {
                Some(p)
            } else {
                found
            }
        })
    }
}

#[derive(Debug, Deserialize)]
struct DemoQuery {
    key: Option<String>,
}

/// `GET /app/auth/demo?key=`: signs the link's person in. Without the demo's sign-in
/// (every `serve`), or with a key that is none of this run's, there is no such page.
pub(crate) async fn sign_in(
    req: HttpRequest,
    context: web::Data<AppContext>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let not_found = || Error::NotFound {
        what: "page",
        id: DEMO_SIGN_IN_PATH.to_owned(),
    };
    let demo = context.demo.as_deref().ok_or_else(not_found)?;
    let key = serde_urlencoded::from_str::<DemoQuery>(req.query_string())
        .ok()
        .and_then(|q| q.key)
        .ok_or_else(not_found)?;
    let person = demo.person(&key).ok_or_else(not_found)?;
    let signed_in = oidc::Person {
        subject: person.subject.clone(),
        name: Some(person.name.clone()),
        scopes: person.scopes.clone(),
        jurisdiction: person.jurisdiction.clone(),
        facility: person.facility,
        id_token: None,
    };
    Ok(pages::open_session(&store, &context, &signed_in)
        .await?
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(subject: &str) -> DemoPerson {
        DemoPerson {
            role: "district officer".into(),
            subject: subject.into(),
            name: "ជា វណ្ណា".into(),
            scopes: vec!["matches:review".into()],
            jurisdiction: AdminCode::parse("0102").ok(),
            facility: None,
        }
    }

    #[test]
    fn each_link_carries_its_own_secret_and_finds_its_person() {
        let demo = DemoSignIn::new(vec![person("a"), person("b")]).expect("demo");
        let links = demo.links("http://127.0.0.1:8080/");
        assert_eq!(links.len(), 2);
        let keys: Vec<&str> = links
            .iter()
            .map(|(_, l)| {
                l.strip_prefix("http://127.0.0.1:8080/app/auth/demo?key=")
                    .expect("link")
            })
            .collect();
        assert_ne!(keys[0], keys[1]);
        assert_eq!(demo.person(keys[1]).map(|p| p.subject.as_str()), Some("b"));
        assert!(demo.person("guess").is_none());
        assert!(demo.person("").is_none());
    }

    #[test]
    fn another_run_has_other_secrets() {
        let one = DemoSignIn::new(vec![person("a")]).expect("demo");
        let two = DemoSignIn::new(vec![person("a")]).expect("demo");
        assert_ne!(one.links("http://x")[0].1, two.links("http://x")[0].1);
    }
}
